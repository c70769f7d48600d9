// @generated automatically by Diesel CLI.

diesel::table! {
    communes (insee) {
        insee -> Text,
        name -> Text,
        search_name -> Text,
        departement_code -> Text,
        epci_siren -> Nullable<Text>,
        population -> Nullable<Int4>,
    }
}

diesel::table! {
    departements (code) {
        code -> Text,
        name -> Text,
        region_code -> Text,
    }
}

diesel::table! {
    epcis (siren) {
        siren -> Text,
        name -> Text,
        nature -> Text,
        population -> Nullable<Int4>,
    }
}

diesel::table! {
    reference_datasets (name) {
        name -> Text,
        source -> Text,
        version -> Text,
        licence -> Text,
        loaded_at -> Timestamptz,
    }
}

diesel::table! {
    regions (code) {
        code -> Text,
        name -> Text,
    }
}

diesel::joinable!(communes -> departements (departement_code));
diesel::joinable!(communes -> epcis (epci_siren));
diesel::joinable!(departements -> regions (region_code));

diesel::allow_tables_to_appear_in_same_query!(
    communes,
    departements,
    epcis,
    reference_datasets,
    regions,
);
