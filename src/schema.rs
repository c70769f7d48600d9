// @generated automatically by Diesel CLI.

diesel::table! {
    canteen_profiles (organisation_id) {
        organisation_id -> Uuid,
        sectors -> Array<Text>,
        management_type -> Text,
        production_type -> Text,
        economic_model -> Text,
        daily_meal_count -> Int4,
        yearly_meal_count -> Int4,
        central_kitchen_siret -> Nullable<Text>,
        local_definition -> Text,
        local_km -> Nullable<Int4>,
    }
}

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
    delivery_areas (organisation_id, area_kind, code) {
        organisation_id -> Uuid,
        area_kind -> Text,
        code -> Text,
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
    farm_certifications (organisation_id, label) {
        organisation_id -> Uuid,
        label -> Text,
        certificate_number -> Nullable<Text>,
        certifying_body -> Nullable<Text>,
    }
}

diesel::table! {
    invitations (id) {
        id -> Uuid,
        organisation_id -> Uuid,
        email -> Text,
        role -> Text,
        token_hash -> Bytea,
        invited_by -> Uuid,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        accepted_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    memberships (organisation_id, user_id) {
        organisation_id -> Uuid,
        user_id -> Uuid,
        role -> Text,
        created_at -> Timestamptz,
    }
}

// `tx` (xid8, defaulted) is left out: diesel has no type for it and only
// raw SQL in orders::feed reads it.
diesel::table! {
    domain_events (seq) {
        seq -> Int8,
        organisation_id -> Uuid,
        event_type -> Text,
        subject_id -> Uuid,
        payload -> Jsonb,
        at -> Timestamptz,
    }
}

diesel::table! {
    idempotency_keys (buyer_id, key) {
        buyer_id -> Uuid,
        key -> Text,
        request_hash -> Bytea,
        response -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    opendata_releases (id) {
        id -> Uuid,
        epci_siren -> Text,
        version -> Int4,
        period_from -> Date,
        period_to -> Date,
        created_at -> Timestamptz,
        published_by -> Nullable<Uuid>,
        disclosure -> Jsonb,
    }
}

diesel::table! {
    opendata_payment_delays (release_id, seq) {
        release_id -> Uuid,
        seq -> Int4,
        month -> Text,
        sector_category -> Text,
        invoices -> Nullable<Int4>,
        median_days -> Nullable<Numeric>,
        status -> Text,
    }
}

diesel::table! {
    opendata_supply_stats (release_id, seq) {
        release_id -> Uuid,
        seq -> Int4,
        level -> Text,
        month -> Nullable<Text>,
        family -> Nullable<Text>,
        label_group -> Nullable<Text>,
        origin_class -> Nullable<Text>,
        sector_category -> Nullable<Text>,
        value_ht_cents -> Nullable<Int8>,
        suppliers -> Nullable<Int4>,
        buyers -> Nullable<Int4>,
        status -> Text,
    }
}

diesel::table! {
    opendata_transaction_pages (release_id, page) {
        release_id -> Uuid,
        page -> Int4,
        rows -> Int4,
        csv -> Text,
    }
}

diesel::table! {
    order_events (id) {
        id -> Uuid,
        order_id -> Uuid,
        actor_user_id -> Uuid,
        actor_organisation_id -> Uuid,
        from_status -> Nullable<Text>,
        to_status -> Text,
        reason -> Nullable<Text>,
        at -> Timestamptz,
    }
}

diesel::table! {
    order_lines (order_id, line_no) {
        order_id -> Uuid,
        line_no -> Int2,
        offer_id -> Nullable<Uuid>,
        product_name -> Text,
        family -> Text,
        labels -> Array<Text>,
        origin -> Text,
        producer_id -> Nullable<Uuid>,
        producer_name -> Text,
        producer_commune_insee -> Text,
        producer_commune -> Text,
        unit -> Text,
        package_net_quantity -> Nullable<Numeric>,
        package_net_unit -> Nullable<Text>,
        unit_price_cents -> Int8,
        vat_rate -> Numeric,
        quantity_ordered -> Numeric,
        quantity_delivered -> Nullable<Numeric>,
        stock_held -> Numeric,
        total_ht_cents -> Int8,
        dispute_reason -> Nullable<Text>,
        contract_id -> Nullable<Uuid>,
        contract_line_no -> Nullable<Int2>,
    }
}

diesel::table! {
    orders (id) {
        id -> Uuid,
        checkout_id -> Uuid,
        buyer_id -> Uuid,
        supplier_id -> Uuid,
        delivery_site_id -> Uuid,
        delivery_date -> Date,
        note -> Text,
        status -> Text,
        total_ht_cents -> Int8,
        total_vat_cents -> Int8,
        total_ttc_cents -> Int8,
        placed_by -> Uuid,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    offers (id) {
        id -> Uuid,
        supplier_id -> Uuid,
        producer_id -> Nullable<Uuid>,
        producer_name -> Text,
        producer_commune_insee -> Text,
        name -> Text,
        description -> Text,
        search_text -> Text,
        family -> Text,
        labels -> Array<Text>,
        origin -> Text,
        unit -> Text,
        package_net_quantity -> Nullable<Numeric>,
        package_net_unit -> Nullable<Text>,
        price_cents -> Int8,
        vat_rate -> Numeric,
        stock_available -> Nullable<Numeric>,
        stock_reserved -> Numeric,
        min_order_quantity -> Numeric,
        order_step -> Numeric,
        available_from -> Nullable<Date>,
        available_until -> Nullable<Date>,
        lead_time_days -> Int4,
        delivery_weekdays -> Array<Int2>,
        area_communes -> Array<Text>,
        area_epcis -> Array<Text>,
        area_departements -> Array<Text>,
        status -> Text,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    organisations (id) {
        id -> Uuid,
        kind -> Text,
        name -> Text,
        siret -> Text,
        siren -> Text,
        commune_insee -> Text,
        address -> Text,
        latitude -> Nullable<Float8>,
        longitude -> Nullable<Float8>,
        description -> Text,
        contact_email -> Nullable<Text>,
        contact_phone -> Nullable<Text>,
        status -> Text,
        productions -> Array<Text>,
        authority_epci -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
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
    refresh_tokens (token_hash) {
        token_hash -> Bytea,
        session_id -> Uuid,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    regions (code) {
        code -> Text,
        name -> Text,
    }
}

diesel::table! {
    sessions (id) {
        id -> Uuid,
        user_id -> Uuid,
        created_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    users (id) {
        id -> Uuid,
        email -> Text,
        display_name -> Text,
        password_hash -> Text,
        is_admin -> Bool,
        disabled_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    supply_relationships (id) {
        id -> Uuid,
        distributor_id -> Uuid,
        farm_id -> Uuid,
        status -> Text,
        note -> Text,
        requested_by -> Uuid,
        requested_at -> Timestamptz,
        decided_by -> Nullable<Uuid>,
        decided_at -> Nullable<Timestamptz>,
        ended_by -> Nullable<Uuid>,
        ended_at -> Nullable<Timestamptz>,
        reason -> Nullable<Text>,
    }
}

diesel::table! {
    login_counters (key) {
        key -> Bytea,
        window_start -> Timestamptz,
        count -> Int4,
    }
}

diesel::table! {
    login_known_pairs (key) {
        key -> Bytea,
        last_success -> Timestamptz,
    }
}

diesel::joinable!(canteen_profiles -> organisations (organisation_id));
diesel::joinable!(communes -> departements (departement_code));
diesel::joinable!(communes -> epcis (epci_siren));
diesel::joinable!(delivery_areas -> organisations (organisation_id));
diesel::joinable!(departements -> regions (region_code));
diesel::joinable!(farm_certifications -> organisations (organisation_id));
diesel::joinable!(invitations -> organisations (organisation_id));
diesel::joinable!(invitations -> users (invited_by));
diesel::joinable!(memberships -> organisations (organisation_id));
diesel::joinable!(memberships -> users (user_id));
diesel::joinable!(order_events -> orders (order_id));
diesel::joinable!(order_lines -> offers (offer_id));
diesel::joinable!(order_lines -> orders (order_id));
diesel::joinable!(offers -> communes (producer_commune_insee));
diesel::joinable!(offers -> organisations (supplier_id));
diesel::joinable!(opendata_releases -> epcis (epci_siren));
diesel::joinable!(opendata_releases -> users (published_by));
diesel::joinable!(opendata_payment_delays -> opendata_releases (release_id));
diesel::joinable!(opendata_supply_stats -> opendata_releases (release_id));
diesel::joinable!(opendata_transaction_pages -> opendata_releases (release_id));
diesel::joinable!(organisations -> communes (commune_insee));
diesel::joinable!(organisations -> epcis (authority_epci));
diesel::joinable!(refresh_tokens -> sessions (session_id));
diesel::joinable!(sessions -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    canteen_profiles,
    communes,
    delivery_areas,
    departements,
    domain_events,
    epcis,
    farm_certifications,
    idempotency_keys,
    invitations,
    login_counters,
    login_known_pairs,
    memberships,
    offers,
    opendata_payment_delays,
    opendata_releases,
    opendata_supply_stats,
    opendata_transaction_pages,
    order_events,
    order_lines,
    orders,
    organisations,
    reference_datasets,
    refresh_tokens,
    regions,
    sessions,
    supply_relationships,
    users,
);

diesel::table! {
    consultations (id) {
        id -> Uuid,
        buyer_id -> Uuid,
        title -> Text,
        description -> Text,
        procedure -> Text,
        duration_months -> Nullable<Int4>,
        answers_due_at -> Timestamptz,
        status -> Text,
        cancel_reason -> Nullable<Text>,
        created_by -> Uuid,
        created_at -> Timestamptz,
        published_at -> Nullable<Timestamptz>,
        closed_at -> Nullable<Timestamptz>,
        decided_at -> Nullable<Timestamptz>,
        cancelled_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    consultation_criteria (consultation_id, position) {
        consultation_id -> Uuid,
        position -> Int2,
        kind -> Text,
        description -> Text,
        weight -> Int2,
    }
}

diesel::table! {
    consultation_lots (id) {
        id -> Uuid,
        consultation_id -> Uuid,
        number -> Int2,
        description -> Text,
        family -> Text,
        labels -> Array<Text>,
        unit -> Text,
        quantity -> Nullable<Numeric>,
        quantity_min -> Nullable<Numeric>,
        quantity_max -> Nullable<Numeric>,
        max_amount_ht_cents -> Nullable<Int8>,
        estimated_amount_ht_cents -> Int8,
        delivery_dates -> Array<Date>,
        delivery_weekdays -> Array<Int2>,
        delivery_from -> Nullable<Date>,
        delivery_until -> Nullable<Date>,
        status -> Text,
        awarded_answer_id -> Nullable<Uuid>,
        rationale -> Nullable<Text>,
        decided_by -> Nullable<Uuid>,
        decided_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    consultation_lot_sites (lot_id, canteen_id) {
        lot_id -> Uuid,
        canteen_id -> Uuid,
    }
}

diesel::table! {
    consultation_answers (id) {
        id -> Uuid,
        consultation_id -> Uuid,
        lot_id -> Uuid,
        supplier_id -> Uuid,
        unit_price_cents -> Int8,
        vat_rate -> Numeric,
        labels -> Array<Text>,
        origin -> Text,
        producer_id -> Nullable<Uuid>,
        producer_name -> Text,
        intermediaries -> Int2,
        delivery_terms -> Text,
        note -> Text,
        revision -> Int4,
        received_at -> Timestamptz,
        digest -> Text,
        submitted_by -> Uuid,
    }
}

diesel::table! {
    consultation_answer_receipts (answer_id, revision) {
        answer_id -> Uuid,
        revision -> Int4,
        digest -> Text,
        received_at -> Timestamptz,
    }
}

diesel::table! {
    consultation_scores (answer_id, position) {
        answer_id -> Uuid,
        consultation_id -> Uuid,
        position -> Int2,
        mark -> Numeric,
        justification -> Text,
        scored_by -> Uuid,
        scored_at -> Timestamptz,
    }
}

diesel::table! {
    contracts (id) {
        id -> Uuid,
        number -> Text,
        consultation_id -> Nullable<Uuid>,
        lot_id -> Nullable<Uuid>,
        answer_id -> Nullable<Uuid>,
        buyer_id -> Uuid,
        supplier_id -> Uuid,
        family -> Text,
        description -> Text,
        unit -> Text,
        unit_price_cents -> Int8,
        vat_rate -> Numeric,
        quantity -> Nullable<Numeric>,
        max_amount_ht_cents -> Nullable<Int8>,
        amount_ht_cents -> Int8,
        valid_from -> Date,
        valid_until -> Date,
        status -> Text,
        created_at -> Timestamptz,
        buyer_reference -> Nullable<Text>,
        proposed_by -> Nullable<Uuid>,
        accepted_at -> Nullable<Timestamptz>,
        ended_at -> Nullable<Timestamptz>,
        termination_reason -> Nullable<Text>,
        payment_days -> Nullable<Int2>,
    }
}

diesel::table! {
    contract_lines (contract_id, line_no) {
        contract_id -> Uuid,
        line_no -> Int2,
        offer_id -> Nullable<Uuid>,
        description -> Text,
        family -> Text,
        labels -> Array<Text>,
        origin -> Text,
        producer_id -> Nullable<Uuid>,
        producer_name -> Text,
        producer_commune_insee -> Text,
        unit -> Text,
        unit_price_cents -> Int8,
        vat_rate -> Numeric,
        tier_min_quantities -> Array<Numeric>,
        tier_prices_cents -> Array<Int8>,
    }
}

diesel::table! {
    delivery_terms (supplier_id) {
        supplier_id -> Uuid,
        delivery_weekdays -> Array<Int2>,
        cutoff_days -> Int2,
        cutoff_time -> Time,
        min_order_ht_cents -> Int8,
        zone_communes -> Array<Text>,
        zone_epcis -> Array<Text>,
        zone_departements -> Array<Text>,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    contract_canteens (contract_id, canteen_id) {
        contract_id -> Uuid,
        canteen_id -> Uuid,
    }
}

diesel::joinable!(consultation_criteria -> consultations (consultation_id));
diesel::joinable!(consultation_lots -> consultations (consultation_id));
diesel::joinable!(consultation_lot_sites -> consultation_lots (lot_id));
diesel::joinable!(consultation_answer_receipts -> consultation_answers (answer_id));
diesel::joinable!(contract_canteens -> contracts (contract_id));
diesel::joinable!(contract_lines -> contracts (contract_id));

diesel::allow_tables_to_appear_in_same_query!(
    consultations,
    consultation_criteria,
    consultation_lots,
    consultation_lot_sites,
    consultation_answers,
    consultation_answer_receipts,
    consultation_scores,
    contracts,
    contract_canteens,
    contract_lines,
    delivery_terms,
);

diesel::table! {
    invoicing_profiles (organisation_id) {
        organisation_id -> Uuid,
        vat_number -> Nullable<Text>,
        iban -> Nullable<Text>,
        payment_days -> Int2,
        billing_siret -> Nullable<Text>,
        service_code -> Nullable<Text>,
        chorus_requires -> Text,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    billing_mandates (id) {
        id -> Uuid,
        supplier_id -> Uuid,
        scope -> Text,
        starts_on -> Date,
        accepted_by -> Uuid,
        accepted_at -> Timestamptz,
        revoked_by -> Nullable<Uuid>,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    invoice_counters (supplier_id, series, year) {
        supplier_id -> Uuid,
        series -> Text,
        year -> Int2,
        last_number -> Int4,
        last_issue_date -> Date,
    }
}

diesel::table! {
    invoices (id) {
        id -> Uuid,
        supplier_id -> Uuid,
        buyer_id -> Uuid,
        number -> Text,
        type_code -> Int2,
        corrects -> Nullable<Uuid>,
        issue_date -> Date,
        delivery_date -> Date,
        period_start -> Nullable<Date>,
        period_end -> Nullable<Date>,
        due_date -> Nullable<Date>,
        seller -> Jsonb,
        buyer -> Jsonb,
        ship_to -> Nullable<Jsonb>,
        service_code -> Nullable<Text>,
        engagement_number -> Nullable<Text>,
        contract_number -> Nullable<Text>,
        public_buyer -> Bool,
        late_rate_points -> Int2,
        reason -> Nullable<Text>,
        net_cents -> Int8,
        vat_cents -> Int8,
        gross_cents -> Int8,
        issued_by -> Uuid,
        mandate_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    invoice_lines (invoice_id, line_no) {
        invoice_id -> Uuid,
        line_no -> Int2,
        order_id -> Uuid,
        order_line_no -> Int2,
        corrects_line_no -> Nullable<Int2>,
        description -> Text,
        labels -> Array<Text>,
        origin -> Text,
        unit -> Text,
        quantity -> Numeric,
        unit_price_cents -> Int8,
        vat_rate -> Numeric,
        net_cents -> Int8,
    }
}

diesel::table! {
    invoiced_orders (order_id) {
        order_id -> Uuid,
        invoice_id -> Uuid,
    }
}

diesel::table! {
    ecb_rates (valid_from) {
        valid_from -> Date,
        percent -> Numeric,
    }
}

diesel::table! {
    invoice_payments (id) {
        id -> Uuid,
        invoice_id -> Uuid,
        amount_cents -> Int8,
        paid_on -> Date,
        recorded_by -> Uuid,
        recorded_at -> Timestamptz,
    }
}

diesel::table! {
    invoice_follow_up (invoice_id) {
        invoice_id -> Uuid,
        status -> Text,
        paid_cents -> Int8,
        credited_cents -> Int8,
        overdue_since -> Nullable<Date>,
        paid_on -> Nullable<Date>,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(invoice_lines -> invoices (invoice_id));
diesel::joinable!(invoice_payments -> invoices (invoice_id));
diesel::joinable!(invoice_follow_up -> invoices (invoice_id));
diesel::joinable!(invoiced_orders -> invoices (invoice_id));

diesel::allow_tables_to_appear_in_same_query!(
    invoicing_profiles,
    billing_mandates,
    invoice_counters,
    invoices,
    invoice_lines,
    invoiced_orders,
    ecb_rates,
    invoice_payments,
    invoice_follow_up,
);
