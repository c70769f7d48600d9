//! Contracts as DECP v2 records (*données essentielles de la commande
//! publique*, format 2.0.3: `{"marches": {"marche": [...]}}`), one per
//! awarded lot, as shared/docs/purchasing.md §2 describes. No I/O.
//!
//! Choices: `codeCPV` from the lot's product family (the CPV division of
//! food products, 15000000, for `AUTRES`); `procedure` "Procédure adaptée"
//! for MAPA and framework agreements, "Marché passé sans publicité ni mise
//! en concurrence préalable" for *gré à gré*; `dateNotification` and
//! `datePublicationDonnees` the day the award made the contract (Paris);
//! `dureeMois` the consultation's duration, else the months the validity
//! spans; `montant` the contract's value (quantity × price, or the
//! maximum) in euros HT; `origineUE`/`origineFrance` from the awarded
//! answer's origin; `considerationsEnvironnementales` "Critère
//! environnemental", since every consultation has one. Nothing else about
//! the bidders is published.

use chrono::Datelike;
use serde_json::{Value, json};

use super::queries::DecpRow;

/// 40,000 € HT (arrêté du 22 décembre 2022).
pub const DEFAULT_MIN_AMOUNT_HT_CENTS: i64 = 4_000_000;

/// The CPV code (without check digit) of a ma-cantine product family.
pub fn cpv(family: &str) -> &'static str {
    match family {
        "FRUITS_ET_LEGUMES" => "03220000",
        "VIANDES_VOLAILLES" => "15110000",
        "CHARCUTERIE" => "15131000",
        "PRODUITS_DE_LA_MER" => "15200000",
        "PRODUITS_LAITIERS" => "15500000",
        "BOULANGERIE" => "15810000",
        "BOISSONS" => "15900000",
        _ => "15000000",
    }
}

fn months(row: &DecpRow) -> i64 {
    match row.duration_months {
        Some(m) => i64::from(m),
        None => {
            let (from, until) = (row.valid_from, row.valid_until);
            let spanned = i64::from(until.year() - from.year()) * 12 + i64::from(until.month())
                - i64::from(from.month())
                + 1;
            spanned.max(1)
        }
    }
}

fn euros(cents: i64) -> Value {
    if cents % 100 == 0 {
        json!(cents / 100)
    } else {
        // Two decimals at most, exact enough in a double for these amounts.
        json!(cents as f64 / 100.0)
    }
}

/// One `marche` record.
pub fn marche(row: &DecpRow) -> Value {
    let framework = row.procedure == "accord_cadre";
    let objet: String = format!(
        "{} - lot {} : {}",
        row.title, row.lot_number, row.description
    )
    .chars()
    .take(1000)
    .collect();
    let (ue, france) = if row.origin == "FRANCE" {
        (1, 1)
    } else {
        (1, 0)
    };
    json!({
        "id": row.number,
        "acheteur": {"id": row.buyer_siret},
        "nature": "Marché",
        "objet": objet,
        "codeCPV": cpv(&row.family),
        "techniques": {"technique": [if framework { "Accord-cadre" } else { "Sans objet" }]},
        "modalitesExecution": {"modaliteExecution": [if framework { "Bons de commande" } else { "Sans objet" }]},
        "marcheInnovant": false,
        "ccag": "Fournitures courantes et services",
        "offresRecues": row.answers.max(1),
        "attributionAvance": false,
        "typeGroupementOperateurs": "Pas de groupement",
        "procedure": if row.procedure == "gre_a_gre" {
            "Marché passé sans publicité ni mise en concurrence préalable"
        } else {
            "Procédure adaptée"
        },
        "lieuExecution": {"code": row.buyer_commune_insee, "typeCode": "Code commune"},
        "dureeMois": months(row),
        "dateNotification": row.notified_on.to_string(),
        "datePublicationDonnees": row.notified_on.to_string(),
        "montant": euros(row.amount_ht_cents),
        "typesPrix": {"typePrix": ["Définitif ferme"]},
        "formePrix": "Unitaire",
        "origineUE": ue,
        "origineFrance": france,
        "sousTraitanceDeclaree": false,
        "titulaires": [{"titulaire": {"typeIdentifiant": "SIRET", "id": row.supplier_siret}}],
        "considerationsSociales": {"considerationSociale": ["Pas de considération sociale"]},
        "considerationsEnvironnementales": {"considerationEnvironnementale": ["Critère environnemental"]}
    })
}

/// The whole document.
pub fn document(rows: &[DecpRow]) -> Value {
    json!({"marches": {"marche": rows.iter().map(marche).collect::<Vec<_>>()}})
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    fn row() -> DecpRow {
        DecpRow {
            number: "SES2026-000001".into(),
            buyer_siret: "21910000500012".into(),
            buyer_commune_insee: "91103".into(),
            supplier_siret: "12345678200010".into(),
            title: "Légumes".into(),
            lot_number: 3,
            description: "légumes racines".into(),
            family: "FRUITS_ET_LEGUMES".into(),
            procedure: "mapa".into(),
            duration_months: None,
            valid_from: NaiveDate::from_ymd_opt(2027, 1, 4).unwrap(),
            valid_until: NaiveDate::from_ymd_opt(2027, 3, 31).unwrap(),
            notified_on: NaiveDate::from_ymd_opt(2026, 12, 29).unwrap(),
            amount_ht_cents: 4_800_050,
            origin: "EUROPE".into(),
            answers: 3,
        }
    }

    #[test]
    fn a_lot_is_one_marche() {
        let record = marche(&row());
        assert_eq!(record["objet"], "Légumes - lot 3 : légumes racines");
        assert_eq!(record["dureeMois"], 3);
        assert_eq!(record["montant"], 48000.5);
        assert_eq!(record["origineFrance"], 0);
        assert_eq!(record["procedure"], "Procédure adaptée");
        assert_eq!(record["techniques"]["technique"][0], "Sans objet");
    }
}
