//! French identifiers and contact details, validated once at the edge.

/// SIREN of La Poste, whose establishments' SIRETs follow another rule.
const LA_POSTE_SIREN: &str = "356000000";

/// Why `value` is not a valid SIRET, if it is not: 14 digits whose Luhn sum
/// is a multiple of 10 (La Poste's: digit sum a multiple of 5), and whose
/// first 9 digits (the SIREN) pass Luhn too.
pub fn siret_problem(value: &str) -> Option<&'static str> {
    if value.len() != 14 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Some("must be 14 digits");
    }
    let siren = &value[..9];
    if !luhn(siren) {
        return Some("its SIREN (first 9 digits) fails the Luhn check");
    }
    let valid = if siren == LA_POSTE_SIREN {
        value
            .bytes()
            .map(|b| u32::from(b - b'0'))
            .sum::<u32>()
            .is_multiple_of(5)
    } else {
        luhn(value)
    };
    (!valid).then_some("fails the Luhn check (a digit is wrong)")
}

fn luhn(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// An email as stored: trimmed and lower-cased.
/// The one form of an email that identifies an account: NFKC (so that a
/// composed and a decomposed `É`, or fullwidth letters, are the same
/// address), then lower case, trimmed. Uniqueness holds on this form.
pub fn normalise_email(value: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let lowered: String = value.trim().nfkc().collect::<String>().to_lowercase();
    // Lower-casing can leave a sequence NFKC composes (`İ` → `i` + dot).
    lowered.nfkc().collect()
}

/// Characters nobody can see or type on purpose in an address: controls,
/// Unicode format characters (category Cf: zero-width spaces and joiners,
/// direction marks, the byte-order mark, tags), variation selectors and the
/// Hangul fillers. One of them makes a look-alike of another account.
fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(c as u32,
            0x00AD | 0x034F | 0x061C | 0x115F | 0x1160 | 0x17B4 | 0x17B5 | 0x180B..=0x180F
            | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x206F | 0x3164 | 0xFE00..=0xFE0F
            | 0xFEFF | 0xFFA0 | 0xFFF0..=0xFFFB | 0x1BCA0..=0x1BCA3 | 0x1D173..=0x1D17A
            | 0xE0000..=0xE0FFF | 0x0600..=0x0605 | 0x06DD | 0x070F | 0x08E2 | 0x110BD | 0x110CD)
}

/// Why a (normalised) email is unusable, if it is. Deliberately loose: the
/// only real check of an address is a message that arrives.
pub fn email_problem(email: &str) -> Option<&'static str> {
    if email.chars().any(is_invisible) {
        return Some("contains an invisible or formatting character; type the address again");
    }
    let (local, domain) = email.split_once('@')?;
    let well_formed = !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !email.chars().any(char::is_whitespace)
        && email.len() <= 254;
    (!well_formed).then_some("is not an email address")
}

/// Checks an email, mapping "no @ at all" to a problem too.
pub fn check_email(email: &str) -> Option<&'static str> {
    if email.contains('@') {
        email_problem(email)
    } else {
        Some("is not an email address")
    }
}

/// Why a phone number is unusable: digits, spaces, dots, dashes and a leading +.
pub fn phone_problem(phone: &str) -> Option<&'static str> {
    let digits = phone.chars().filter(char::is_ascii_digit).count();
    let allowed = phone
        .char_indices()
        .all(|(i, c)| c.is_ascii_digit() || matches!(c, ' ' | '.' | '-') || (c == '+' && i == 0));
    (!allowed || !(8..=15).contains(&digits)).then_some("is not a phone number")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn look_alike_addresses_are_one_or_refused() {
        let composed = normalise_email("\u{c9}lodie@Cantine.fr");
        assert_eq!(composed, "\u{e9}lodie@cantine.fr");
        assert_eq!(normalise_email("E\u{301}lodie@cantine.fr"), composed);
        assert_eq!(normalise_email("\u{c9}LODIE@CANTINE.FR"), composed);
        assert_eq!(
            normalise_email("\u{ff45}lodie@\u{ff43}antine.fr"),
            "elodie@cantine.fr"
        );
        assert_eq!(normalise_email(&composed), composed, "idempotent");
        for hidden in [
            "\u{200b}",
            "\u{200d}",
            "\u{feff}",
            "\u{2060}",
            "\u{00ad}",
            "\u{e0041}",
        ] {
            let email = normalise_email(&format!("elo{hidden}die@cantine.fr"));
            assert!(check_email(&email).is_some(), "{hidden:?}");
        }
        assert_eq!(check_email(&composed), None);
    }

    #[test]
    fn sirets() {
        // SIRET of a real establishment (an INSEE example) and of La Poste.
        assert_eq!(siret_problem("73282932000074"), None);
        assert_eq!(siret_problem("35600000000001"), None);
        assert!(siret_problem("35600000000002").is_some());
        assert_eq!(
            siret_problem("73282932000075"),
            Some("fails the Luhn check (a digit is wrong)")
        );
        assert_eq!(siret_problem("7328293200007"), Some("must be 14 digits"));
        assert_eq!(siret_problem("7328293200007A"), Some("must be 14 digits"));
        assert!(siret_problem("12345678200007").is_some());
        // The agglomeration's SIREN passes Luhn.
        assert!(luhn("200057859"));
    }

    #[test]
    fn emails_and_phones() {
        assert_eq!(
            normalise_email("  Jean.Dupont@Ferme.FR "),
            "jean.dupont@ferme.fr"
        );
        assert_eq!(check_email("jean@ferme.fr"), None);
        for bad in [
            "jean",
            "jean@",
            "@ferme.fr",
            "jean@ferme",
            "je an@ferme.fr",
            "a@b@c.fr",
        ] {
            assert!(check_email(bad).is_some(), "{bad}");
        }
        assert_eq!(phone_problem("+33 1 69 00 00 00"), None);
        assert_eq!(phone_problem("01.69.00.00.00"), None);
        assert!(phone_problem("call me").is_some());
    }
}
