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
    sessions (id) {
        id -> Uuid,
        account_id -> Uuid,
        created_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    sign_in_failures (id) {
        id -> Int8,
        throttle_key -> Text,
        failed_at -> Timestamptz,
    }
}

diesel::joinable!(accounts -> organisations (organisation_id));
diesel::joinable!(event_recipients -> events (seq));
diesel::joinable!(event_recipients -> organisations (organisation_id));
diesel::joinable!(idempotency_keys -> accounts (account_id));
diesel::joinable!(refresh_tokens -> accounts (account_id));
diesel::joinable!(refresh_tokens -> sessions (family_id));
diesel::joinable!(sessions -> accounts (account_id));

diesel::allow_tables_to_appear_in_same_query!(
    accounts,
    event_recipients,
    events,
    idempotency_keys,
    job_runs,
    organisations,
    refresh_tokens,
    sessions,
    sign_in_failures,
);
