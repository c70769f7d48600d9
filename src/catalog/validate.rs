//! Checks of offers that need no database; every problem at once, by field.

use std::collections::BTreeSet;

use rust_decimal::Decimal;

use super::dto::{NewOffer, OfferChanges};
use crate::codes::{Label, ProductFamily, VatRate};
use crate::error::{FieldError, text_fits};

/// Quantities are kept to the gram (3 decimals).
const QUANTITY_SCALE: u32 = 3;
const MAX_PRICE_CENTS: i64 = 100_000_000;

fn at(prefix: &str, field: &str) -> String {
    if prefix.is_empty() {
        field.to_owned()
    } else {
        format!("{prefix}.{field}")
    }
}

fn text(errors: &mut Vec<FieldError>, field: String, value: &str, min: usize, max: usize) {
    if !text_fits(value, min, max) {
        errors.push(FieldError::new(
            field,
            format!("must be {min} to {max} characters"),
        ));
    }
}

pub fn quantity(errors: &mut Vec<FieldError>, field: String, value: Decimal, allow_zero: bool) {
    if value.is_sign_negative() || (!allow_zero && value.is_zero()) {
        let bound = if allow_zero {
            "zero or more"
        } else {
            "more than zero"
        };
        errors.push(FieldError::new(field, format!("must be {bound}")));
    } else if value.normalize().scale() > QUANTITY_SCALE {
        errors.push(FieldError::new(field, "at most 3 decimals"));
    } else if value > Decimal::from(100_000_000) {
        errors.push(FieldError::new(field, "is implausibly large"));
    }
}

pub fn labels(
    errors: &mut Vec<FieldError>,
    field: String,
    labels: &[Label],
    family: ProductFamily,
) {
    let mut seen = BTreeSet::new();
    for (i, label) in labels.iter().enumerate() {
        if !seen.insert(label) {
            errors.push(FieldError::new(format!("{field}[{i}]"), "is listed twice"));
        } else if !label.applies_to(family) {
            errors.push(FieldError::new(
                format!("{field}[{i}]"),
                format!("{label} does not apply to {family}"),
            ));
        }
    }
}

/// A VAT rate is one of the [`VatRate`] codes, written as the code is
/// (`5.50` is refused: the document's enum has `5.5`, and a decimal keeps
/// the digits it was written with).
pub fn vat(errors: &mut Vec<FieldError>, field: String, rate: Decimal) {
    if rate.to_string().parse::<VatRate>().is_err() {
        let allowed = VatRate::CODES.join(", ");
        errors.push(FieldError::new(field, format!("must be one of {allowed}")));
    }
}

fn price(errors: &mut Vec<FieldError>, field: String, cents: i64) {
    if !(0..=MAX_PRICE_CENTS).contains(&cents) {
        errors.push(FieldError::new(
            field,
            format!("must be between 0 and {MAX_PRICE_CENTS} cents"),
        ));
    }
}

fn weekdays(errors: &mut Vec<FieldError>, field: String, days: &[i16]) {
    let distinct: BTreeSet<_> = days.iter().collect();
    if days.is_empty() || days.iter().any(|d| !(1..=7).contains(d)) || distinct.len() != days.len()
    {
        errors.push(FieldError::new(
            field,
            "one to seven distinct ISO weekdays, 1 (Monday) to 7",
        ));
    }
}

fn lead_time(errors: &mut Vec<FieldError>, field: String, days: i32) {
    if !(0..=365).contains(&days) {
        errors.push(FieldError::new(field, "must be 0 to 365 days"));
    }
}

/// Everything about a new offer that can be checked without the database.
/// `prefix` names the row of a CSV import (`rows[3]`), empty for JSON.
pub fn new_offer(prefix: &str, offer: &NewOffer) -> Vec<FieldError> {
    let mut errors = Vec::new();
    text(&mut errors, at(prefix, "name"), &offer.name, 1, 200);
    text(
        &mut errors,
        at(prefix, "description"),
        &offer.description,
        0,
        5000,
    );
    labels(
        &mut errors,
        at(prefix, "labels"),
        &offer.labels,
        offer.family,
    );
    match (&offer.package, offer.unit.is_package()) {
        (None, true) => errors.push(FieldError::new(
            at(prefix, "package"),
            "is required for a package unit",
        )),
        (Some(_), false) => errors.push(FieldError::new(
            at(prefix, "package"),
            "only for package units",
        )),
        (Some(package), true) => {
            quantity(
                &mut errors,
                at(prefix, "package.net_quantity"),
                package.net_quantity,
                false,
            );
            if package.net_unit.is_package() {
                errors.push(FieldError::new(
                    at(prefix, "package.net_unit"),
                    "must be KGM, GRM, LTR or H87",
                ));
            }
        }
        (None, false) => {}
    }
    price(&mut errors, at(prefix, "price_cents"), offer.price_cents);
    vat(&mut errors, at(prefix, "vat_rate"), offer.vat_rate);
    match (offer.stock, offer.on_demand) {
        (Some(stock), false) => quantity(&mut errors, at(prefix, "stock"), stock, true),
        (None, true) => {}
        (Some(_), true) => errors.push(FieldError::new(
            at(prefix, "stock"),
            "an on-demand offer has no stock",
        )),
        (None, false) => errors.push(FieldError::new(
            at(prefix, "stock"),
            "is required, unless on_demand is true",
        )),
    }
    quantity(
        &mut errors,
        at(prefix, "min_order_quantity"),
        offer.min_order_quantity,
        false,
    );
    quantity(
        &mut errors,
        at(prefix, "order_step"),
        offer.order_step,
        false,
    );
    if let (Some(from), Some(until)) = (offer.available_from, offer.available_until)
        && until < from
    {
        errors.push(FieldError::new(
            at(prefix, "available_until"),
            "is before available_from",
        ));
    }
    lead_time(
        &mut errors,
        at(prefix, "lead_time_days"),
        offer.lead_time_days,
    );
    weekdays(
        &mut errors,
        at(prefix, "delivery_weekdays"),
        &offer.delivery_weekdays,
    );
    if offer.delivery_area.len() > 500 {
        errors.push(FieldError::new(
            at(prefix, "delivery_area"),
            "at most 500 areas",
        ));
    }
    errors
}

/// Checks of an update, given the offer's family and current window.
pub fn changes(changes: &OfferChanges, family: ProductFamily) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if let Some(name) = &changes.name {
        text(&mut errors, "name".into(), name, 1, 200);
    }
    if let Some(description) = &changes.description {
        text(&mut errors, "description".into(), description, 0, 5000);
    }
    if let Some(l) = &changes.labels {
        labels(&mut errors, "labels".into(), l, family);
    }
    if let Some(cents) = changes.price_cents {
        price(&mut errors, "price_cents".into(), cents);
    }
    if let Some(rate) = changes.vat_rate {
        vat(&mut errors, "vat_rate".into(), rate);
    }
    if let Some(q) = changes.min_order_quantity {
        quantity(&mut errors, "min_order_quantity".into(), q, false);
    }
    if let Some(q) = changes.order_step {
        quantity(&mut errors, "order_step".into(), q, false);
    }
    if let Some(days) = changes.lead_time_days {
        lead_time(&mut errors, "lead_time_days".into(), days);
    }
    if let Some(days) = &changes.delivery_weekdays {
        weekdays(&mut errors, "delivery_weekdays".into(), days);
    }
    if changes
        .delivery_area
        .as_ref()
        .is_some_and(|a| a.len() > 500)
    {
        errors.push(FieldError::new("delivery_area", "at most 500 areas"));
    }
    errors
}
