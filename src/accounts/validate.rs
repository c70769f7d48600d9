//! Checks of organisation requests that need no database; every problem is
//! reported at once, with the path of its field.

use super::dto::{
    CanteenProfile, Certification, CreateOrganisation, DeliveryArea, Location, UpdateOrganisation,
};
use crate::codes::{Label, LocalDefinition, OrganisationKind};
use crate::error::{FieldError, check_text};
use crate::ids::{check_email, phone_problem, siret_problem};

fn insee(errors: &mut Vec<FieldError>, field: &str, value: &str) {
    let b = value.as_bytes();
    let well_formed = b.len() == 5
        && b[2..].iter().all(u8::is_ascii_digit)
        && match (b[0], b[1]) {
            (b'2', b'A' | b'B') => true,
            (b'2', d) => d.is_ascii_digit() && d != b'0',
            (b'0' | b'1' | b'3'..=b'9', d) => d.is_ascii_digit(),
            _ => false,
        };
    if !well_formed {
        errors.push(FieldError::new(
            field,
            "must be an INSEE commune code such as 91103 or 2A004 (not a postcode)",
        ));
    }
}

fn location(errors: &mut Vec<FieldError>, value: Option<&Location>) {
    if let Some(l) = value {
        if !(-90.0..=90.0).contains(&l.latitude) {
            errors.push(FieldError::new(
                "location.latitude",
                "must be between -90 and 90",
            ));
        }
        if !(-180.0..=180.0).contains(&l.longitude) {
            errors.push(FieldError::new(
                "location.longitude",
                "must be between -180 and 180",
            ));
        }
    }
}

fn contacts(errors: &mut Vec<FieldError>, email: Option<&str>, phone: Option<&str>) {
    if let Some(problem) = email.and_then(|e| check_email(&crate::ids::normalise_email(e))) {
        errors.push(FieldError::new("contact_email", problem));
    }
    if let Some(problem) = phone.and_then(phone_problem) {
        errors.push(FieldError::new("contact_phone", problem));
    }
}

pub fn certifications(
    errors: &mut Vec<FieldError>,
    prefix: &str,
    certifications: &[Certification],
) {
    let mut seen = std::collections::BTreeSet::new();
    for (i, c) in certifications.iter().enumerate() {
        let at = format!("{prefix}[{i}]");
        if !seen.insert(c.label) {
            errors.push(FieldError::new(format!("{at}.label"), "is listed twice"));
        }
        if c.label == Label::Bio {
            for (name, value) in [
                ("certificate_number", &c.certificate_number),
                ("certifying_body", &c.certifying_body),
            ] {
                if value.as_deref().is_none_or(|v| v.trim().is_empty()) {
                    errors.push(FieldError::new(
                        format!("{at}.{name}"),
                        "is required for BIO",
                    ));
                }
            }
        }
        for (name, value) in [
            ("certificate_number", &c.certificate_number),
            ("certifying_body", &c.certifying_body),
        ] {
            if value.as_deref().is_some_and(|v| v.chars().count() > 100) {
                errors.push(FieldError::new(
                    format!("{at}.{name}"),
                    "must be at most 100 characters",
                ));
            }
        }
    }
}

pub fn delivery_area(errors: &mut Vec<FieldError>, prefix: &str, areas: &[DeliveryArea]) {
    if areas.len() > 500 {
        errors.push(FieldError::new(prefix, "at most 500 areas"));
    }
}

pub fn canteen(errors: &mut Vec<FieldError>, prefix: &str, c: &CanteenProfile) {
    if c.sectors.is_empty() || c.sectors.len() > 3 {
        errors.push(FieldError::new(
            format!("{prefix}.sectors"),
            "one to three sectors",
        ));
    }
    let distinct: std::collections::BTreeSet<_> = c.sectors.iter().collect();
    if distinct.len() != c.sectors.len() {
        errors.push(FieldError::new(
            format!("{prefix}.sectors"),
            "a sector is listed twice",
        ));
    }
    if c.daily_meal_count < 3 {
        errors.push(FieldError::new(
            format!("{prefix}.daily_meal_count"),
            "must be at least 3",
        ));
    }
    if c.yearly_meal_count < 420 || c.yearly_meal_count <= c.daily_meal_count {
        errors.push(FieldError::new(
            format!("{prefix}.yearly_meal_count"),
            "must be at least 420 and more than the daily count",
        ));
    }
    if let Some(problem) = c.central_kitchen_siret.as_deref().and_then(siret_problem) {
        errors.push(FieldError::new(
            format!("{prefix}.central_kitchen_siret"),
            problem,
        ));
    }
    match (c.local_definition, c.local_km) {
        (LocalDefinition::Km, None) => errors.push(FieldError::new(
            format!("{prefix}.local_km"),
            "is required with KM",
        )),
        (LocalDefinition::Km, Some(km)) if !(1..=1000).contains(&km) => errors.push(
            FieldError::new(format!("{prefix}.local_km"), "must be between 1 and 1000"),
        ),
        (LocalDefinition::Km, Some(_)) => {}
        (_, Some(_)) => errors.push(FieldError::new(
            format!("{prefix}.local_km"),
            "only with KM",
        )),
        (_, None) => {}
    }
}

/// Everything that can be checked without the database.
pub fn create(body: &CreateOrganisation) -> Vec<FieldError> {
    let mut errors = Vec::new();
    check_text(&mut errors, "name", &body.name, 200);
    if let Some(problem) = siret_problem(&body.siret) {
        errors.push(FieldError::new("siret", problem));
    }
    insee(&mut errors, "commune_insee", &body.commune_insee);
    if body.address.chars().count() > 500 {
        errors.push(FieldError::new("address", "must be at most 500 characters"));
    }
    if body.description.chars().count() > 5000 {
        errors.push(FieldError::new(
            "description",
            "must be at most 5000 characters",
        ));
    }
    location(&mut errors, body.location.as_ref());
    contacts(
        &mut errors,
        body.contact_email.as_deref(),
        body.contact_phone.as_deref(),
    );

    let kind = body.kind;
    let sections = [
        ("farm", body.farm.is_some(), OrganisationKind::Farm),
        (
            "distributor",
            body.distributor.is_some(),
            OrganisationKind::Distributor,
        ),
        ("canteen", body.canteen.is_some(), OrganisationKind::Canteen),
        (
            "authority",
            body.authority.is_some(),
            OrganisationKind::Authority,
        ),
    ];
    for (name, present, owner) in sections {
        if present && owner != kind {
            errors.push(FieldError::new(
                name,
                format!("only for {owner} organisations, not {kind}"),
            ));
        }
    }
    if let Some(farm) = &body.farm {
        certifications(&mut errors, "farm.certifications", &farm.certifications);
    }
    if let Some(distributor) = &body.distributor {
        delivery_area(
            &mut errors,
            "distributor.delivery_area",
            &distributor.delivery_area,
        );
    }
    match (&body.canteen, kind) {
        (Some(c), OrganisationKind::Canteen) => canteen(&mut errors, "canteen", c),
        (None, OrganisationKind::Canteen) => {
            errors.push(FieldError::new("canteen", "is required for a canteen"))
        }
        _ => {}
    }
    if kind == OrganisationKind::Authority && body.authority.is_none() {
        errors.push(FieldError::new(
            "authority",
            "is required for an authority: the EPCI it speaks for",
        ));
    }
    errors
}

pub fn update(kind: OrganisationKind, body: &UpdateOrganisation) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if let Some(name) = &body.name {
        check_text(&mut errors, "name", name, 200);
    }
    if let Some(code) = &body.commune_insee {
        insee(&mut errors, "commune_insee", code);
    }
    if body
        .address
        .as_ref()
        .is_some_and(|a| a.chars().count() > 500)
    {
        errors.push(FieldError::new("address", "must be at most 500 characters"));
    }
    if body
        .description
        .as_ref()
        .is_some_and(|d| d.chars().count() > 5000)
    {
        errors.push(FieldError::new(
            "description",
            "must be at most 5000 characters",
        ));
    }
    location(&mut errors, body.location.as_ref());
    contacts(
        &mut errors,
        body.contact_email.as_deref(),
        body.contact_phone.as_deref(),
    );
    let kind_only = [
        (
            "productions",
            body.productions.is_some(),
            OrganisationKind::Farm,
        ),
        (
            "delivery_area",
            body.delivery_area.is_some(),
            OrganisationKind::Distributor,
        ),
        ("canteen", body.canteen.is_some(), OrganisationKind::Canteen),
    ];
    for (name, present, owner) in kind_only {
        if present && owner != kind {
            errors.push(FieldError::new(
                name,
                format!("only for {owner} organisations, not {kind}"),
            ));
        }
    }
    if let Some(areas) = &body.delivery_area {
        delivery_area(&mut errors, "delivery_area", areas);
    }
    if let Some(c) = &body.canteen {
        canteen(&mut errors, "canteen", c);
    }
    errors
}
