//! The receipt of a sealed answer: the SHA-256 of its canonical text, given
//! to the supplier at submission and kept by Sésame (digest and time only).
//! Anyone holding the answer's values can recompute it, so the supplier can
//! later prove what it sent and when, and the buyer can check, after the
//! deadline, that the answer it reads is the one received. No I/O.
//!
//! The canonical text is one JSON object with the keys in this fixed order,
//! no spaces: `consultation_id, lot_number, supplier_id, revision,
//! received_at` (RFC 3339, UTC, microseconds), `unit_price_cents, vat_rate`
//! (normalised decimal string), `labels` (sorted), `origin, producer_id,
//! producer_name, delivery_terms, note`.

use chrono::{DateTime, SecondsFormat, Utc};
use rust_decimal::Decimal;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The values an answer's receipt covers.
pub struct Sealed<'a> {
    pub consultation_id: Uuid,
    pub lot_number: i16,
    pub supplier_id: Uuid,
    pub revision: i32,
    pub received_at: DateTime<Utc>,
    pub unit_price_cents: i64,
    pub vat_rate: Decimal,
    pub labels: &'a [String],
    pub origin: &'a str,
    pub producer_id: Option<Uuid>,
    pub producer_name: &'a str,
    pub delivery_terms: &'a str,
    pub note: &'a str,
}

fn quoted(text: &str) -> String {
    serde_json::Value::String(text.to_owned()).to_string()
}

/// The canonical text of an answer.
pub fn canonical(answer: &Sealed<'_>) -> String {
    let mut labels: Vec<&str> = answer.labels.iter().map(String::as_str).collect();
    labels.sort_unstable();
    let labels = labels
        .iter()
        .map(|l| quoted(l))
        .collect::<Vec<_>>()
        .join(",");
    let producer = answer
        .producer_id
        .map_or_else(|| "null".to_owned(), |id| quoted(&id.to_string()));
    format!(
        "{{\"consultation_id\":{},\"lot_number\":{},\"supplier_id\":{},\"revision\":{},\
         \"received_at\":{},\"unit_price_cents\":{},\"vat_rate\":{},\"labels\":[{}],\
         \"origin\":{},\"producer_id\":{},\"producer_name\":{},\"delivery_terms\":{},\"note\":{}}}",
        quoted(&answer.consultation_id.to_string()),
        answer.lot_number,
        quoted(&answer.supplier_id.to_string()),
        answer.revision,
        quoted(
            &answer
                .received_at
                .to_rfc3339_opts(SecondsFormat::Micros, true)
        ),
        answer.unit_price_cents,
        quoted(&answer.vat_rate.normalize().to_string()),
        labels,
        quoted(answer.origin),
        producer,
        quoted(answer.producer_name),
        quoted(answer.delivery_terms),
        quoted(answer.note),
    )
}

/// The lower-case hex SHA-256 of `text`.
pub fn digest(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_canonical_text_is_stable_json_and_labels_are_sorted() {
        let labels = ["HVE".to_owned(), "BIO".to_owned()];
        let answer = Sealed {
            consultation_id: Uuid::nil(),
            lot_number: 2,
            supplier_id: Uuid::nil(),
            revision: 1,
            received_at: DateTime::from_timestamp(1_790_000_000, 123_456_000).unwrap(),
            unit_price_cents: 180,
            vat_rate: "5.50".parse().unwrap(),
            labels: &labels,
            origin: "FRANCE",
            producer_id: None,
            producer_name: "Ferme \"l'Envol\"",
            delivery_terms: "",
            note: "",
        };
        let text = canonical(&answer);
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed["labels"], serde_json::json!(["BIO", "HVE"]));
        assert_eq!(parsed["vat_rate"], "5.5");
        assert_eq!(parsed["received_at"], "2026-09-21T14:13:20.123456Z");
        assert_eq!(digest(&text).len(), 64);
        assert_eq!(digest(&text), digest(&canonical(&answer)));
    }
}
