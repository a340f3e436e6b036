// @generated automatically by Diesel CLI.

diesel::table! {
    accounts (id) {
        id -> Uuid,
        organisation_id -> Nullable<Uuid>,
        kind -> Text,
        role -> Text,
        name -> Text,
        email -> Nullable<Text>,
        password_hash -> Nullable<Text>,
        client_id -> Nullable<Text>,
        client_secret_hash -> Nullable<Text>,
        scopes -> Text,
        active -> Bool,
        deactivated_at -> Nullable<Timestamptz>,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        credentials_version -> Int4,
    }
}

diesel::table! {
    agreements (id) {
        id -> Uuid,
        landlord_organisation_id -> Uuid,
        association_organisation_id -> Uuid,
        kind -> Text,
        units_covered -> Int4,
        starts_on -> Date,
        ends_on -> Nullable<Date>,
        programme_label -> Nullable<Text>,
        status -> Text,
        closing_comment -> Nullable<Text>,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    case_transitions (id) {
        id -> Uuid,
        case_type -> Text,
        case_id -> Uuid,
        household_id -> Nullable<Uuid>,
        action -> Text,
        from_status -> Nullable<Text>,
        to_status -> Text,
        actor_account_id -> Nullable<Uuid>,
        actor_organisation_id -> Nullable<Uuid>,
        comment -> Nullable<Text>,
        reason_code -> Nullable<Text>,
        occurred_at -> Timestamptz,
        details -> Nullable<Jsonb>,
    }
}

diesel::table! {
    data_migrations (name) {
        name -> Text,
        applied_at -> Timestamptz,
    }
}

diesel::table! {
    event_recipients (organisation_id, tx_id, seq) {
        organisation_id -> Uuid,
        tx_id -> Int8,
        seq -> Int8,
    }
}

diesel::table! {
    events (seq) {
        seq -> Int8,
        id -> Uuid,
        tx_id -> Int8,
        event_type -> Text,
        subject_type -> Text,
        subject_id -> Uuid,
        actor_account_id -> Nullable<Uuid>,
        actor_organisation_id -> Nullable<Uuid>,
        occurred_at -> Timestamptz,
        data -> Jsonb,
        for_platform -> Bool,
    }
}

diesel::table! {
    household_sharings (id) {
        id -> Uuid,
        household_id -> Uuid,
        organisation_id -> Uuid,
        shared_by_organisation_id -> Uuid,
        actor_account_id -> Nullable<Uuid>,
        path -> Text,
        case_id -> Uuid,
        basis -> Text,
        commission -> Nullable<Text>,
        decision_reference -> Nullable<Text>,
        decided_on -> Nullable<Date>,
        shared_at -> Timestamptz,
    }
}

diesel::table! {
    households (id) {
        id -> Uuid,
        created_by_organisation_id -> Uuid,
        created_by_account_id -> Uuid,
        partner_reference -> Nullable<Text>,
        head_last_name -> Text,
        head_first_names -> Text,
        head_birth_date -> Date,
        identity_key -> Text,
        members -> Jsonb,
        household_type -> Text,
        adults -> Int4,
        children -> Int4,
        monthly_resources_cents -> Int8,
        resource_kinds -> Jsonb,
        housing_situation -> Text,
        priority_grounds -> Jsonb,
        special_grounds -> Jsonb,
        consent_given_on -> Nullable<Date>,
        consent_scope -> Nullable<Text>,
        consent_recorded_by -> Nullable<Uuid>,
        consent_withdrawn_at -> Nullable<Timestamptz>,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        department_code -> Text,
    }
}

diesel::table! {
    idempotency_keys (account_id, idempotency_key) {
        account_id -> Uuid,
        idempotency_key -> Text,
        request_hash -> Bytea,
        state -> Text,
        lease_until -> Timestamptz,
        response_status -> Nullable<Int2>,
        response_headers -> Nullable<Jsonb>,
        response_body -> Nullable<Bytea>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    job_runs (job_name) {
        job_name -> Text,
        last_run_at -> Timestamptz,
    }
}

diesel::table! {
    measure_contacts (id) {
        id -> Uuid,
        measure_id -> Uuid,
        occurred_on -> Date,
        kind -> Text,
        duration_minutes -> Nullable<Int4>,
        worker_account_id -> Uuid,
        note -> Nullable<Text>,
        recorded_by_account_id -> Uuid,
        created_at -> Timestamptz,
        version -> Int4,
        updated_at -> Timestamptz,
        removed_at -> Nullable<Timestamptz>,
        removal_reason -> Nullable<Text>,
    }
}

diesel::table! {
    measure_kinds (code) {
        code -> Text,
        name -> Text,
        funder -> Text,
        description -> Text,
        default_response_days -> Nullable<Int4>,
        active -> Bool,
        created_at -> Timestamptz,
        duration_months -> Nullable<Int4>,
        needs_decision -> Bool,
        renewal_policy -> Jsonb,
        contact_every_days -> Nullable<Int4>,
        contact_kinds -> Jsonb,
        outcome_codes -> Jsonb,
        max_total_months -> Nullable<Int4>,
        max_suspension_days -> Nullable<Int4>,
        operator_kinds -> Jsonb,
        funder_kinds -> Jsonb,
        department_code -> Nullable<Text>,
        version -> Int4,
        updated_at -> Timestamptz,
        renewal_window_months -> Nullable<Int4>,
        exclusive_outcomes -> Jsonb,
    }
}

diesel::table! {
    measures (id) {
        id -> Uuid,
        kind -> Text,
        rules -> Jsonb,
        household_id -> Uuid,
        operator_organisation_id -> Uuid,
        worker_account_id -> Nullable<Uuid>,
        origin_referral_id -> Nullable<Uuid>,
        referrer_organisation_id -> Nullable<Uuid>,
        funder_organisation_id -> Nullable<Uuid>,
        status -> Text,
        starts_on -> Date,
        planned_end_on -> Nullable<Date>,
        ended_on -> Nullable<Date>,
        outcomes -> Jsonb,
        closing_comment -> Nullable<Text>,
        suspended_on -> Nullable<Date>,
        suspended_until -> Nullable<Date>,
        suspension_reason -> Nullable<Text>,
        suspended_days -> Int4,
        last_contact_on -> Nullable<Date>,
        next_contact_due_on -> Nullable<Date>,
        contacts_count -> Int4,
        renewals_granted -> Int4,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        programme_id -> Nullable<Uuid>,
        started_at -> Nullable<Timestamptz>,
        closed_at -> Nullable<Timestamptz>,
        contact_rhythm_missed -> Int4,
        renewed_months -> Int4,
        cancellation_reason -> Nullable<Text>,
    }
}

diesel::table! {
    objectives (id) {
        id -> Uuid,
        measure_id -> Uuid,
        household_id -> Uuid,
        theme -> Text,
        description -> Text,
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
        department_code -> Text,
        contact_email -> Text,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        commissions -> Jsonb,
    }
}

diesel::table! {
    programme_kinds (programme_id, kind) {
        programme_id -> Uuid,
        kind -> Text,
        funded -> Int4,
        used -> Int4,
    }
}

diesel::table! {
    programme_operators (programme_id, operator_organisation_id) {
        programme_id -> Uuid,
        operator_organisation_id -> Uuid,
    }
}

diesel::table! {
    programmes (id) {
        id -> Uuid,
        name -> Text,
        funder_organisation_id -> Uuid,
        starts_on -> Date,
        ends_on -> Date,
        department_codes -> Jsonb,
        budget_cents -> Int8,
        targets -> Jsonb,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    proposals (id) {
        id -> Uuid,
        unit_id -> Uuid,
        household_id -> Uuid,
        association_organisation_id -> Uuid,
        landlord_organisation_id -> Uuid,
        proposed_by_account_id -> Uuid,
        comment -> Nullable<Text>,
        status -> Text,
        decline_reason -> Nullable<Text>,
        decline_comment -> Nullable<Text>,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        withdrawal_reason -> Nullable<Text>,
    }
}

diesel::table! {
    referral_comments (id) {
        id -> Uuid,
        referral_id -> Uuid,
        author_account_id -> Uuid,
        author_organisation_id -> Uuid,
        body -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    referrals (id) {
        id -> Uuid,
        household_id -> Uuid,
        referrer_organisation_id -> Uuid,
        referrer_account_id -> Uuid,
        addressee_organisation_id -> Uuid,
        measure_kind -> Text,
        reason -> Text,
        priority_grounds -> Jsonb,
        special_grounds -> Jsonb,
        desired_start -> Nullable<Date>,
        response_due_on -> Date,
        status -> Text,
        decline_reason -> Nullable<Text>,
        closing_comment -> Nullable<Text>,
        transferred_from_id -> Nullable<Uuid>,
        transferred_to_id -> Nullable<Uuid>,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        submitted_at -> Nullable<Timestamptz>,
        acknowledged_at -> Nullable<Timestamptz>,
        decided_at -> Nullable<Timestamptz>,
        mandate_commission -> Nullable<Text>,
        mandate_reference -> Nullable<Text>,
        mandate_decided_on -> Nullable<Date>,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Uuid,
        account_id -> Uuid,
        family_id -> Uuid,
        token_hash -> Bytea,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    renewals (id) {
        id -> Uuid,
        measure_id -> Uuid,
        household_id -> Uuid,
        operator_organisation_id -> Uuid,
        decider_organisation_id -> Uuid,
        ordinal -> Int4,
        months -> Int4,
        exceptional -> Bool,
        justification -> Nullable<Text>,
        status -> Text,
        requested_by_account_id -> Uuid,
        requested_on -> Date,
        decided_on -> Nullable<Date>,
        starts_on -> Nullable<Date>,
        ends_on -> Nullable<Date>,
        refusal_reason -> Nullable<Text>,
        refusal_explanation -> Nullable<Text>,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        granted_months -> Nullable<Int4>,
        decision_reference -> Nullable<Text>,
        decision_comment -> Nullable<Text>,
    }
}

diesel::table! {
    rent_arrears (id) {
        id -> Uuid,
        sublease_id -> Uuid,
        amount_cents -> Int8,
        months -> Int4,
        comment -> Nullable<Text>,
        recorded_by_account_id -> Uuid,
        recorded_by_organisation_id -> Uuid,
        recorded_at -> Timestamptz,
    }
}

diesel::table! {
    sessions (id) {
        id -> Uuid,
        account_id -> Uuid,
        created_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
        scopes -> Nullable<Text>,
    }
}

diesel::table! {
    sign_in_failures (id) {
        id -> Int8,
        throttle_key -> Text,
        failed_at -> Timestamptz,
    }
}

diesel::table! {
    special_category_reads (id) {
        id -> Uuid,
        household_id -> Uuid,
        account_id -> Uuid,
        organisation_id -> Nullable<Uuid>,
        categories -> Jsonb,
        request_id -> Text,
        read_at -> Timestamptz,
    }
}

diesel::table! {
    subleases (id) {
        id -> Uuid,
        unit_id -> Uuid,
        main_tenant_organisation_id -> Uuid,
        landlord_organisation_id -> Uuid,
        household_id -> Uuid,
        kind -> Text,
        starts_on -> Date,
        planned_end_on -> Date,
        ended_on -> Nullable<Date>,
        rent_cents -> Int8,
        charges_cents -> Int8,
        housing_benefit_cents -> Int8,
        deposit_cents -> Int8,
        status -> Text,
        end_reason -> Nullable<Text>,
        closing_comment -> Nullable<Text>,
        period -> Daterange,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        measure_id -> Nullable<Uuid>,
        started_at -> Nullable<Timestamptz>,
        glided_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    units (id) {
        id -> Uuid,
        holder_organisation_id -> Uuid,
        owner_kind -> Text,
        holder_reference -> Nullable<Text>,
        address_lines -> Jsonb,
        postcode -> Text,
        commune -> Text,
        insee_code -> Text,
        unit_type -> Text,
        area_m2 -> Float8,
        floor -> Int4,
        lift -> Bool,
        accessible -> Bool,
        rent_cents -> Int8,
        charges_cents -> Int8,
        financing -> Text,
        energy_class -> Text,
        energy_assessed_on -> Nullable<Date>,
        status -> Text,
        agreement_id -> Nullable<Uuid>,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        agreement_association_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    webhook_attempts (id) {
        id -> Uuid,
        delivery_id -> Uuid,
        attempted_at -> Timestamptz,
        duration_ms -> Int4,
        response_status -> Nullable<Int4>,
        response_body -> Nullable<Text>,
        error -> Nullable<Text>,
        error_detail -> Nullable<Text>,
        next_attempt_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Uuid,
        endpoint_id -> Uuid,
        event_id -> Uuid,
        event_type -> Text,
        event_seq -> Nullable<Int8>,
        event_tx_id -> Nullable<Int8>,
        payload -> Nullable<Jsonb>,
        status -> Text,
        attempt_count -> Int4,
        next_attempt_at -> Nullable<Timestamptz>,
        claimed_until -> Nullable<Timestamptz>,
        claim_token -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    webhook_dispatch_position (singleton) {
        singleton -> Bool,
        tx_id -> Int8,
        seq -> Int8,
    }
}

diesel::table! {
    webhook_endpoints (id) {
        id -> Uuid,
        organisation_id -> Uuid,
        created_by_account_id -> Uuid,
        url -> Text,
        description -> Text,
        event_types -> Jsonb,
        status -> Text,
        disabled_reason -> Nullable<Text>,
        disabled_at -> Nullable<Timestamptz>,
        secret_sealed -> Bytea,
        previous_secret_sealed -> Nullable<Bytea>,
        previous_secret_expires_at -> Nullable<Timestamptz>,
        failing_since -> Nullable<Timestamptz>,
        last_success_at -> Nullable<Timestamptz>,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(accounts -> organisations (organisation_id));
diesel::joinable!(case_transitions -> accounts (actor_account_id));
diesel::joinable!(case_transitions -> households (household_id));
diesel::joinable!(case_transitions -> organisations (actor_organisation_id));
diesel::joinable!(event_recipients -> events (seq));
diesel::joinable!(event_recipients -> organisations (organisation_id));
diesel::joinable!(household_sharings -> accounts (actor_account_id));
diesel::joinable!(household_sharings -> households (household_id));
diesel::joinable!(households -> organisations (created_by_organisation_id));
diesel::joinable!(idempotency_keys -> accounts (account_id));
diesel::joinable!(measure_contacts -> measures (measure_id));
diesel::joinable!(measures -> accounts (worker_account_id));
diesel::joinable!(measures -> households (household_id));
diesel::joinable!(measures -> measure_kinds (kind));
diesel::joinable!(measures -> programmes (programme_id));
diesel::joinable!(measures -> referrals (origin_referral_id));
diesel::joinable!(objectives -> households (household_id));
diesel::joinable!(objectives -> measures (measure_id));
diesel::joinable!(programme_kinds -> measure_kinds (kind));
diesel::joinable!(programme_kinds -> programmes (programme_id));
diesel::joinable!(programme_operators -> organisations (operator_organisation_id));
diesel::joinable!(programme_operators -> programmes (programme_id));
diesel::joinable!(programmes -> organisations (funder_organisation_id));
diesel::joinable!(proposals -> accounts (proposed_by_account_id));
diesel::joinable!(proposals -> households (household_id));
diesel::joinable!(proposals -> units (unit_id));
diesel::joinable!(referral_comments -> accounts (author_account_id));
diesel::joinable!(referral_comments -> organisations (author_organisation_id));
diesel::joinable!(referral_comments -> referrals (referral_id));
diesel::joinable!(referrals -> accounts (referrer_account_id));
diesel::joinable!(referrals -> households (household_id));
diesel::joinable!(referrals -> measure_kinds (measure_kind));
diesel::joinable!(refresh_tokens -> accounts (account_id));
diesel::joinable!(refresh_tokens -> sessions (family_id));
diesel::joinable!(renewals -> accounts (requested_by_account_id));
diesel::joinable!(renewals -> households (household_id));
diesel::joinable!(renewals -> measures (measure_id));
diesel::joinable!(rent_arrears -> accounts (recorded_by_account_id));
diesel::joinable!(rent_arrears -> organisations (recorded_by_organisation_id));
diesel::joinable!(rent_arrears -> subleases (sublease_id));
diesel::joinable!(sessions -> accounts (account_id));
diesel::joinable!(subleases -> households (household_id));
diesel::joinable!(subleases -> measures (measure_id));
diesel::joinable!(subleases -> units (unit_id));
diesel::joinable!(units -> organisations (holder_organisation_id));
diesel::joinable!(webhook_attempts -> webhook_deliveries (delivery_id));
diesel::joinable!(webhook_deliveries -> webhook_endpoints (endpoint_id));
diesel::joinable!(webhook_endpoints -> accounts (created_by_account_id));
diesel::joinable!(webhook_endpoints -> organisations (organisation_id));

diesel::allow_tables_to_appear_in_same_query!(
    accounts,
    agreements,
    case_transitions,
    data_migrations,
    event_recipients,
    events,
    household_sharings,
    households,
    idempotency_keys,
    job_runs,
    measure_contacts,
    measure_kinds,
    measures,
    objectives,
    organisations,
    programme_kinds,
    programme_operators,
    programmes,
    proposals,
    referral_comments,
    referrals,
    refresh_tokens,
    renewals,
    rent_arrears,
    sessions,
    sign_in_failures,
    special_category_reads,
    subleases,
    units,
    webhook_attempts,
    webhook_deliveries,
    webhook_dispatch_position,
    webhook_endpoints,
);
