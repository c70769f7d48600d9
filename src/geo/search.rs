//! Accent- and case-insensitive matching of place names.

/// The searchable form of a name: ASCII, lower-case, words separated by one
/// space. "Brétigny-sur-Orge" and "bretigny sur orge" fold to the same string;
/// "Cœur" folds to "coeur".
pub fn fold(name: &str) -> String {
    let ascii = deunicode::deunicode(name).to_ascii_lowercase();
    ascii
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|word| !word.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::fold;

    #[test]
    fn folds_accents_case_and_separators() {
        assert_eq!(fold("Brétigny-sur-Orge"), "bretigny sur orge");
        assert_eq!(fold("  BRETIGNY "), "bretigny");
        assert_eq!(
            fold("Saint-Germain-lès-Arpajon"),
            "saint germain les arpajon"
        );
        assert_eq!(fold("L'Haÿ-les-Roses"), "l hay les roses");
        assert_eq!(fold("Cœur d'Essonne"), "coeur d essonne");
        assert_eq!(fold("Égly"), "egly");
        assert_eq!(fold("%_"), "");
    }
}
