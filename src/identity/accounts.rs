//! `/v1/organisations/{id}/accounts`: an organisation's admins manage its people and systems.

use actix_web::http::StatusCode;
use actix_web::{get, patch, post, web, HttpRequest, HttpResponse};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::{Validate, ValidationError, ValidationErrors};

use super::model::{self, Account, AccountKind, AccountRow, Role, Scope};
use super::rules;
use crate::auth::caller::Caller;
use crate::auth::policy::{authorize, Action};
use crate::auth::secrets;
use crate::db;
use crate::error::{ApiError, ApiResult};
use crate::events::{self, NewEvent};
use crate::fields::validate_not_blank;
use crate::http::body::ValidJson;
use crate::http::concurrency::IfMatchHeader;
use crate::http::concurrency::{etag, IfMatch};
use crate::http::extractors::Query;
use crate::http::idempotency::IdempotencyHeader;
use crate::http::idempotency::{self, IdempotencyKey, StoredResponse};
use crate::http::pagination::{PageOf, PageParams};
use crate::http::patch;
use crate::schema::{accounts, sessions};
use crate::state::AppState;

fn validate_assignable_role(role: &Role) -> Result<(), ValidationError> {
    if crate::identity::rules::assignable_role(*role) {
        Ok(())
    } else {
        Err(ValidationError::new("not_assignable")
            .with_message("platform_admin cannot be given to an organisation's account".into()))
    }
}

/// A person who signs in with email and password.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPerson {
    /// Full name.
    #[validate(length(min = 1, max = 200), custom(function = "validate_not_blank"))]
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub name: String,
    /// Sign-in email, unique across the platform (case does not matter).
    #[validate(email, length(max = 254))]
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    /// `admin`, `coordinator`, `worker` or `viewer`.
    #[validate(custom(function = "validate_assignable_role"))]
    pub role: Role,
}

/// A partner system that signs in with client credentials.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSystem {
    /// A label: which software this is.
    #[validate(length(min = 1, max = 200), custom(function = "validate_not_blank"))]
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub name: String,
    /// `admin`, `coordinator`, `worker` or `viewer`: the most its scopes can reach.
    #[validate(custom(function = "validate_assignable_role"))]
    pub role: Role,
    /// The scopes its tokens carry: within its role's (422 `beyond_role` on `scopes[i]`
    /// otherwise; a `viewer` reads only).
    #[validate(length(max = 32))]
    #[schema(max_items = 32)]
    pub scopes: Vec<Scope>,
}

/// A new account: a person or a partner system, told apart by `kind`.
///
/// Read as one object with every field of both (then checked against its `kind`), so that a
/// body missing several fields is told about all of them at once, with their names: a
/// person's `email` is required and its `scopes` refused (`not_allowed`), and the reverse
/// for a system. The spec shows the two shapes (`oneOf`, discriminated by `kind`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    kind: AccountKind,
    name: String,
    role: Role,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    scopes: Option<Vec<Scope>>,
}

/// A new account, as its kind has it.
pub enum NewAccountOf {
    Person(NewPerson),
    System(NewSystem),
}

impl NewAccount {
    /// The account as its kind has it (the fields the other kind has are dropped: a valid
    /// body has none).
    pub fn into_kind(self) -> NewAccountOf {
        match self.kind {
            AccountKind::Person => NewAccountOf::Person(NewPerson {
                name: self.name,
                email: self.email.unwrap_or_default(),
                role: self.role,
            }),
            AccountKind::System => NewAccountOf::System(NewSystem {
                name: self.name,
                role: self.role,
                scopes: self.scopes.unwrap_or_default(),
            }),
        }
    }
}

/// The schema is written out because `kind` lives beside the fields of each variant, which
/// forbid any other field: `oneOf` of the two complete objects (the components
/// `NewPersonAccount` and `NewSystemAccount`), discriminated by `kind`.
impl utoipa::PartialSchema for NewAccount {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{Discriminator, OneOfBuilder};
        use utoipa::openapi::Ref;
        let mut discriminator = Discriminator::new("kind");
        for (kind, name) in ACCOUNT_SHAPES {
            discriminator
                .mapping
                .insert(kind.into(), format!("#/components/schemas/{name}"));
        }
        OneOfBuilder::new()
            .item(Ref::from_schema_name(ACCOUNT_SHAPES[0].1))
            .item(Ref::from_schema_name(ACCOUNT_SHAPES[1].1))
            .discriminator(Some(discriminator))
            .description(Some(
                "A person (`kind: person`) or a partner system (`kind: system`).",
            ))
            .examples([
                serde_json::json!({"kind": "person", "name": "Camille Martin",
                "email": "camille.martin@habitat-solidaire.example", "role": "worker"}),
            ])
            .into()
    }
}

/// The two shapes of a new account: its `kind`, and the component that describes it.
const ACCOUNT_SHAPES: [(&str, &str); 2] = [
    ("person", "NewPersonAccount"),
    ("system", "NewSystemAccount"),
];

impl ToSchema for NewAccount {
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
        use utoipa::openapi::RefOr;
        fn with_kind(schema: RefOr<Schema>, kind: &str) -> RefOr<Schema> {
            match schema {
                RefOr::T(Schema::Object(mut object)) => {
                    let tag = ObjectBuilder::new()
                        .schema_type(Type::String)
                        .enum_values(Some([kind]))
                        .description(Some("The kind of account"));
                    object.properties.insert("kind".into(), tag.into());
                    object.required.insert(0, "kind".into());
                    RefOr::T(Schema::Object(object))
                }
                other => other,
            }
        }
        <NewPerson as ToSchema>::schemas(schemas);
        <NewSystem as ToSchema>::schemas(schemas);
        let shapes = [
            <NewPerson as utoipa::PartialSchema>::schema(),
            <NewSystem as utoipa::PartialSchema>::schema(),
        ];
        for ((kind, name), schema) in ACCOUNT_SHAPES.into_iter().zip(shapes) {
            schemas.push((name.to_owned(), with_kind(schema, kind)));
        }
    }
}

impl Validate for NewAccount {
    fn validate(&self) -> Result<(), ValidationErrors> {
        let (kind, required, refused) = match self.kind {
            AccountKind::Person => (
                "person",
                ("email", self.email.is_none()),
                ("scopes", self.scopes.is_some()),
            ),
            AccountKind::System => (
                "system",
                ("scopes", self.scopes.is_none()),
                ("email", self.email.is_some()),
            ),
        };
        let checked = match self.clone().into_kind() {
            NewAccountOf::Person(p) => p.validate(),
            NewAccountOf::System(s) => s.validate(),
        };
        let mut errors = checked.err().unwrap_or_default();
        for (field, broken, code, message) in [
            (
                required.0,
                required.1,
                "required",
                format!("a {kind} account needs `{}`", required.0),
            ),
            (
                refused.0,
                refused.1,
                "not_allowed",
                format!("a {kind} account has no `{}`", refused.0),
            ),
        ] {
            if broken {
                // The rules of a stand-in (a missing email) are not the caller's failures.
                errors.errors_mut().remove(field);
                errors.add(
                    field,
                    ValidationError::new(code).with_message(message.into()),
                );
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// Changes to an account, as a JSON Merge Patch (RFC 7396): an absent field stays as it is;
/// none may be `null` (422 `not_nullable`). Sending what is stored changes nothing.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"role": "coordinator"}))]
pub struct AccountPatch {
    #[validate(length(min = 1, max = 200), custom(function = "validate_not_blank"))]
    #[schema(nullable = false, min_length = 1, max_length = 200, pattern = "\\S")]
    #[serde(default, deserialize_with = "patch::not_null")]
    pub name: Option<String>,
    #[validate(custom(function = "validate_assignable_role"))]
    #[schema(nullable = false)]
    #[serde(default, deserialize_with = "patch::not_null")]
    pub role: Option<Role>,
    /// Only for a partner system: the complete new list, within its role's (422
    /// `beyond_role` on `scopes[i]`). A role changed without `scopes` keeps those of its
    /// scopes the new role allows.
    #[validate(length(max = 32))]
    #[schema(nullable = false, max_items = 32)]
    #[serde(default, deserialize_with = "patch::not_null")]
    pub scopes: Option<Vec<Scope>>,
}

/// An account with a credential that is shown this once and never again.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a5c2-8a40-7c11-8e0f-3b5d2c1a9e77", "organisation_id": "0193a5c2-7d1e-7b3a-9c4f-2f0e8d6b1a22",
    "kind": "system", "role": "worker", "name": "Logiciel de suivi social", "email": null,
    "client_id": "pcl_Qm9uam91cg-Hb3Rj", "scopes": ["events:read"], "active": true,
    "deactivated_at": null, "version": 1,
    "created_at": "2026-11-22T18:51:05Z", "updated_at": "2026-11-22T18:51:05Z",
    "client_secret": "Zr4v…", "temporary_password": null
}))]
pub struct AccountWithCredential {
    #[serde(flatten)]
    pub account: Account,
    /// A partner system's new client secret. Shown once: a replayed request returns `null`.
    pub client_secret: Option<String>,
    /// A person's new temporary password. Shown once: a replayed request returns `null`.
    pub temporary_password: Option<String>,
}

/// The response of a call that issues a credential: the secret is in what the caller
/// receives, never in what is kept for replays.
fn credential_response(
    status: StatusCode,
    account: Account,
    secret: String,
    location: Option<String>,
) -> StoredResponse {
    let (client_secret, temporary_password) = match account.kind {
        AccountKind::System => (Some(secret), None),
        AccountKind::Person => (None, Some(secret)),
    };
    let version = account.version;
    let redacted = AccountWithCredential {
        account: account.clone(),
        client_secret: None,
        temporary_password: None,
    };
    let full = AccountWithCredential {
        account,
        client_secret,
        temporary_password,
    };
    let mut response = StoredResponse::json(status, &full).header("etag", etag(version));
    response.stored_body = Some(serde_json::to_vec(&redacted).unwrap_or_default());
    if let Some(location) = location {
        response = response.header("location", location);
    }
    response
}

fn account_response(account: &Account) -> StoredResponse {
    StoredResponse::versioned(StatusCode::OK, account, account.version)
}

async fn account_event(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    event_type: &'static str,
    account: &Account,
) -> Result<(), ApiError> {
    events::append(
        conn,
        Some(caller),
        NewEvent {
            event_type,
            subject_type: "account",
            subject_id: account.id,
            data: serde_json::to_value(account).map_err(ApiError::internal)?,
            recipients: account.organisation_id.into_iter().collect(),
            for_platform: false,
        },
    )
    .await
}

pub(crate) async fn revoke_sessions(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    except: Option<Uuid>,
) -> Result<(), ApiError> {
    diesel::update(
        sessions::table
            .filter(sessions::account_id.eq(account_id))
            .filter(sessions::revoked_at.is_null())
            .filter(sessions::id.ne(except.unwrap_or(Uuid::nil()))),
    )
    .set(sessions::revoked_at.eq(diesel::dsl::now))
    .execute(conn)
    .await?;
    Ok(())
}

/// The organisation must exist (404 otherwise), then the caller must be allowed.
async fn guard(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    organisation_id: Uuid,
    action: Action,
) -> Result<(), ApiError> {
    authorize(caller, action).map_err(|e| match e {
        // Never tell a stranger whether the organisation or account exists.
        ApiError::NotFound => ApiError::NotFound,
        other => other,
    })?;
    model::find_organisation(conn, organisation_id).await?;
    Ok(())
}

/// Create an account
///
/// Creates a person (a temporary password is returned once) or a partner system (a client
/// id and a client secret are returned once). An organisation's admins, or a platform admin.
#[utoipa::path(
    tag = "accounts",
    operation_id = "create_account",
    request_body = NewAccount,
    params(
        ("id" = Uuid, Path, description = "The organisation's id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key and body replay the first response (without the secret).", max_length = 255, min_length = 1, pattern = "^[\\x21-\\x7e]+$"),
    ),
    security(("oauth2" = ["accounts:write"])),
    responses(
        (status = 201, description = "Created; the credential is shown this once", body = AccountWithCredential,
         headers(("ETag" = String, description = "The version, for If-Match"), ("Location" = String, description = "The new account"))),
        (status = 409, description = "The email is already used, or the key is in use", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/organisations/{id}/accounts")]
pub async fn create_account(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<Uuid>,
    key: IdempotencyKey,
    body: ValidJson<NewAccount>,
) -> ApiResult<HttpResponse> {
    let organisation_id = id.into_inner();
    {
        let mut conn = db::conn(&state.pool).await?;
        guard(
            &mut conn,
            &caller,
            organisation_id,
            Action::ManageAccounts {
                organisation: organisation_id,
            },
        )
        .await?;
    }
    let ValidJson(new, raw) = body;
    let fingerprint = idempotency::fingerprint(&req, &raw);
    let new = new.into_kind();
    if let NewAccountOf::System(s) = &new {
        let errors = rules::scopes_beyond_role(s.role, &s.scopes);
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
    }
    let secret = match &new {
        NewAccountOf::Person(_) => secrets::temporary_password(),
        NewAccountOf::System(_) => secrets::random_token(32),
    };
    let hash = secrets::hash(secret.clone()).await?;
    idempotency::run(
        &state,
        &caller.clone(),
        &key,
        fingerprint,
        async move |conn: &mut AsyncPgConnection| {
            let id = Uuid::now_v7();
            let row: AccountRow = match &new {
                NewAccountOf::Person(p) => {
                    let email = rules::normalise_email(&p.email);
                    db::lock_for_rule(conn, "account_email", &email).await?;
                    let taken: Option<(Uuid, Option<Uuid>)> = accounts::table
                        .filter(accounts::email.eq(&email))
                        .select((accounts::id, accounts::organisation_id))
                        .first(conn)
                        .await
                        .optional()?;
                    match taken {
                        // The account is named to its own organisation's admin only: an
                        // email used elsewhere must not reveal where.
                        Some((existing_id, Some(owner))) if owner == organisation_id => {
                            return Err(ApiError::duplicate(
                                "your organisation already has an account with this email",
                                existing_id,
                            ))
                        }
                        Some(_) => {
                            return Err(ApiError::conflict(
                                "an account with this email already exists",
                            ))
                        }
                        None => {}
                    }
                    diesel::insert_into(accounts::table)
                        .values((
                            accounts::id.eq(id),
                            accounts::organisation_id.eq(Some(organisation_id)),
                            accounts::kind.eq(AccountKind::Person),
                            accounts::role.eq(p.role),
                            accounts::name.eq(p.name.trim()),
                            accounts::email.eq(Some(email)),
                            accounts::password_hash.eq(Some(&hash)),
                        ))
                        .returning(AccountRow::as_returning())
                        .get_result(conn)
                        .await?
                }
                NewAccountOf::System(s) => {
                    let client_id = format!("pcl_{}", secrets::random_token(12));
                    diesel::insert_into(accounts::table)
                        .values((
                            accounts::id.eq(id),
                            accounts::organisation_id.eq(Some(organisation_id)),
                            accounts::kind.eq(AccountKind::System),
                            accounts::role.eq(s.role),
                            accounts::name.eq(s.name.trim()),
                            accounts::client_id.eq(Some(client_id)),
                            accounts::client_secret_hash.eq(Some(&hash)),
                            accounts::scopes.eq(model::join_scopes(&s.scopes)),
                        ))
                        .returning(AccountRow::as_returning())
                        .get_result(conn)
                        .await?
                }
            };
            let account = Account::from(row);
            account_event(conn, &caller, "account.created", &account).await?;
            let location = format!(
                "/v1/organisations/{organisation_id}/accounts/{}",
                account.id
            );
            Ok(credential_response(
                StatusCode::CREATED,
                account,
                secret,
                Some(location),
            ))
        },
    )
    .await
}

/// List an organisation's accounts
#[utoipa::path(
    tag = "accounts",
    operation_id = "list_accounts",
    params(("id" = Uuid, Path, description = "The organisation's id"), PageParams),
    security(("oauth2" = ["accounts:read"])),
    responses((status = 200, description = "A page of accounts", body = PageOf<Account>))
)]
#[get("/organisations/{id}/accounts")]
pub async fn list_accounts(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    page: Query<PageParams>,
) -> ApiResult<HttpResponse> {
    let organisation_id = id.into_inner();
    let page = page.page()?;
    let mut conn = db::conn(&state.pool).await?;
    guard(
        &mut conn,
        &caller,
        organisation_id,
        Action::ReadAccounts {
            organisation: organisation_id,
        },
    )
    .await?;
    let rows = model::list_accounts(&mut conn, organisation_id, page).await?;
    let rows: Vec<Account> = rows.into_iter().map(Account::from).collect();
    Ok(HttpResponse::Ok().json(PageOf::from_rows(rows, page, |a| a.id)))
}

/// Get an account
#[utoipa::path(
    tag = "accounts",
    operation_id = "get_account",
    params(
        ("id" = Uuid, Path, description = "The organisation's id"),
        ("account_id" = Uuid, Path, description = "The account's id"),
    ),
    security(("oauth2" = ["accounts:read"])),
    responses((status = 200, description = "The account", body = Account,
               headers(("ETag" = String, description = "The version, for If-Match"))))
)]
#[get("/organisations/{id}/accounts/{account_id}")]
pub async fn get_account(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (organisation_id, account_id) = path.into_inner();
    let mut conn = db::conn(&state.pool).await?;
    guard(
        &mut conn,
        &caller,
        organisation_id,
        Action::ReadAccounts {
            organisation: organisation_id,
        },
    )
    .await?;
    let account =
        Account::from(model::find_account_in(&mut conn, organisation_id, account_id, false).await?);
    Ok(account_response(&account).into_response(false))
}

/// Runs a change of one account in a transaction: lock, check `If-Match`, apply, emit.
async fn change_account<F>(
    state: &AppState,
    caller: &Caller,
    key: &IdempotencyKey,
    fingerprint: Vec<u8>,
    (organisation_id, account_id): (Uuid, Uuid),
    if_match: IfMatch,
    change: F,
) -> ApiResult<HttpResponse>
where
    F: AsyncFnOnce(
        &mut AsyncPgConnection,
        AccountRow,
    ) -> Result<(Account, Option<&'static str>, Option<String>), ApiError>,
{
    {
        let mut conn = db::conn(&state.pool).await?;
        guard(
            &mut conn,
            caller,
            organisation_id,
            Action::ManageAccounts {
                organisation: organisation_id,
            },
        )
        .await?;
        model::find_account_in(&mut conn, organisation_id, account_id, false).await?;
    }
    let caller = caller.clone();
    idempotency::run(
        state,
        &caller.clone(),
        key,
        fingerprint,
        async move |conn: &mut AsyncPgConnection| {
            let current = model::find_account_in(conn, organisation_id, account_id, true).await?;
            if_match.check(current.version)?;
            let (account, event_type, secret) = change(conn, current).await?;
            // No event when nothing changed (a PATCH of what is stored).
            if let Some(event_type) = event_type {
                account_event(conn, &caller, event_type, &account).await?;
            }
            Ok(match secret {
                Some(secret) => credential_response(StatusCode::OK, account, secret, None),
                None => account_response(&account),
            })
        },
    )
    .await
}

/// Update an account
///
/// Changes a name, a role or (for a partner system) its scopes. Requires `If-Match`.
/// An admin cannot change their own role.
#[utoipa::path(
    tag = "accounts",
    operation_id = "update_account",
    request_body = AccountPatch,
    params(
        ("id" = Uuid, Path, description = "The organisation's id"),
        ("account_id" = Uuid, Path, description = "The account's id"),
        IfMatchHeader,
    ),
    security(("oauth2" = ["accounts:write"])),
    responses(
        (status = 200, description = "Updated", body = Account, headers(("ETag" = String, description = "The new version"))),
        (status = 409, description = "An admin changing their own role", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/organisations/{id}/accounts/{account_id}")]
pub async fn update_account(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    path: web::Path<(Uuid, Uuid)>,
    if_match: IfMatch,
    body: ValidJson<AccountPatch>,
) -> ApiResult<HttpResponse> {
    let (organisation_id, account_id) = path.into_inner();
    let ValidJson(patch, raw) = body;
    let fingerprint = idempotency::fingerprint(&req, &raw);
    let self_id = caller.account_id;
    change_account(
        &state,
        &caller,
        &IdempotencyKey(None),
        fingerprint,
        (organisation_id, account_id),
        if_match,
        async move |conn: &mut AsyncPgConnection, current: AccountRow| {
            if patch.scopes.is_some() && current.kind == AccountKind::Person {
                return Err(ApiError::invalid(
                    "scopes",
                    "not_applicable",
                    "a person's scopes follow from their role",
                ));
            }
            if current.id == self_id && patch.role.is_some_and(|r| r != current.role) {
                return Err(ApiError::conflict("you cannot change your own role"));
            }
            let name = patch
                .name
                .as_deref()
                .map(str::trim)
                .unwrap_or(&current.name)
                .to_owned();
            let role = patch.role.unwrap_or(current.role);
            // A partner system holds no scope beyond its role: those sent are checked
            // against it (422), those kept are cut to it, so that raising the role later
            // grants nothing its admin did not see.
            let scopes = match patch.scopes.as_deref() {
                Some(sent) => {
                    let errors = rules::scopes_beyond_role(role, sent);
                    if !errors.is_empty() {
                        return Err(ApiError::Validation(errors));
                    }
                    model::join_scopes(sent)
                }
                None if current.kind == AccountKind::System => {
                    let within = crate::identity::rules::effective_scopes(
                        AccountKind::System,
                        role,
                        &current.scope_list(),
                    );
                    model::join_scopes(&within)
                }
                None => current.scopes.clone(),
            };
            if (&name, role, &scopes) == (&current.name, current.role, &current.scopes) {
                return Ok((Account::from(current), None, None));
            }
            let row: AccountRow = diesel::update(accounts::table.find(current.id))
                .set((
                    accounts::name.eq(name),
                    accounts::role.eq(role),
                    accounts::scopes.eq(scopes),
                    crate::db::bump(accounts::version, accounts::updated_at),
                ))
                .returning(AccountRow::as_returning())
                .get_result(conn)
                .await?;
            Ok((Account::from(row), Some("account.updated"), None))
        },
    )
    .await
}

macro_rules! account_action_path {
    ($fn:ident, $path:literal, $op:literal, $summary:literal, $desc:literal, $body:ty) => {
        #[doc = $summary]
        #[doc = ""]
        #[doc = $desc]
        #[utoipa::path(
            tag = "accounts",
            operation_id = $op,
            params(
                ("id" = Uuid, Path, description = "The organisation's id"),
                ("account_id" = Uuid, Path, description = "The account's id"),
                IfMatchHeader,
                IdempotencyHeader,
            ),
            security(("oauth2" = ["accounts:write"])),
            responses(
                (status = 200, description = "Done", body = $body, headers(("ETag" = String, description = "The new version"))),
                (status = 409, description = "Not possible in the account's current state", body = crate::error::Problem, content_type = "application/problem+json"),
            )
        )]
        #[post($path)]
        pub async fn $fn(
            state: web::Data<AppState>,
            caller: Caller,
            req: HttpRequest,
            path: web::Path<(Uuid, Uuid)>,
            if_match: IfMatch,
            key: IdempotencyKey,
            _nothing: crate::http::body::ActionBody,
        ) -> ApiResult<HttpResponse> {
            let (organisation_id, account_id) = path.into_inner();
            let fingerprint = idempotency::fingerprint(&req, b"");
            let self_id = caller.account_id;
            change_account(&state, &caller, &key, fingerprint, (organisation_id, account_id), if_match,
                async move |conn: &mut AsyncPgConnection, current: AccountRow| {
                    actions::$fn(conn, current, self_id).await
                })
            .await
        }
    };
}

account_action_path!(
    deactivate_account,
    "/organisations/{id}/accounts/{account_id}/deactivate",
    "deactivate_account",
    "Deactivate an account",
    "Its tokens stop working at once and its sessions are revoked. You cannot deactivate yourself.",
    Account
);
account_action_path!(
    reactivate_account,
    "/organisations/{id}/accounts/{account_id}/reactivate",
    "reactivate_account",
    "Reactivate an account",
    "The account can sign in again (with new tokens).",
    Account
);
account_action_path!(
    reset_password,
    "/organisations/{id}/accounts/{account_id}/reset-password",
    "reset_account_password",
    "Reset a person's password",
    "Issues a new temporary password, shown once, and revokes the person's sessions: their refresh and access tokens stop working at once.",
    AccountWithCredential
);
account_action_path!(
    rotate_secret,
    "/organisations/{id}/accounts/{account_id}/rotate-secret",
    "rotate_account_secret",
    "Rotate a partner system's client secret",
    "Issues a new client secret, shown once; the old one stops working at once, and so do the access tokens issued with it (401 at their next request, on every instance).",
    AccountWithCredential
);

/// What each account action changes, inside the transaction `change_account` opened.
mod actions {
    use super::*;

    type Outcome = Result<(Account, Option<&'static str>, Option<String>), ApiError>;

    pub async fn deactivate_account(
        conn: &mut AsyncPgConnection,
        current: AccountRow,
        self_id: Uuid,
    ) -> Outcome {
        if current.id == self_id {
            return Err(ApiError::conflict("you cannot deactivate your own account"));
        }
        if !current.active {
            return Err(ApiError::conflict("the account is already deactivated"));
        }
        revoke_sessions(conn, current.id, None).await?;
        let row: AccountRow = diesel::update(accounts::table.find(current.id))
            .set((
                accounts::active.eq(false),
                accounts::deactivated_at.eq(diesel::dsl::now),
                crate::db::bump(accounts::version, accounts::updated_at),
            ))
            .returning(AccountRow::as_returning())
            .get_result(conn)
            .await?;
        Ok((Account::from(row), Some("account.deactivated"), None))
    }

    pub async fn reactivate_account(
        conn: &mut AsyncPgConnection,
        current: AccountRow,
        _self_id: Uuid,
    ) -> Outcome {
        if current.active {
            return Err(ApiError::conflict("the account is already active"));
        }
        let row: AccountRow = diesel::update(accounts::table.find(current.id))
            .set((
                accounts::active.eq(true),
                accounts::deactivated_at.eq(None::<chrono::DateTime<chrono::Utc>>),
                crate::db::bump(accounts::version, accounts::updated_at),
            ))
            .returning(AccountRow::as_returning())
            .get_result(conn)
            .await?;
        Ok((Account::from(row), Some("account.reactivated"), None))
    }

    pub async fn reset_password(
        conn: &mut AsyncPgConnection,
        current: AccountRow,
        _self_id: Uuid,
    ) -> Outcome {
        if current.kind != AccountKind::Person {
            return Err(ApiError::conflict(
                "a partner system has a client secret: use rotate-secret",
            ));
        }
        let password = secrets::temporary_password();
        let hash = secrets::hash(password.clone()).await?;
        revoke_sessions(conn, current.id, None).await?;
        let row: AccountRow = diesel::update(accounts::table.find(current.id))
            .set((
                accounts::password_hash.eq(Some(hash)),
                accounts::credentials_version.eq(accounts::credentials_version + 1),
                crate::db::bump(accounts::version, accounts::updated_at),
            ))
            .returning(AccountRow::as_returning())
            .get_result(conn)
            .await?;
        Ok((
            Account::from(row),
            Some("account.credentials_reset"),
            Some(password),
        ))
    }

    pub async fn rotate_secret(
        conn: &mut AsyncPgConnection,
        current: AccountRow,
        _self_id: Uuid,
    ) -> Outcome {
        if current.kind != AccountKind::System {
            return Err(ApiError::conflict(
                "a person has a password: use reset-password",
            ));
        }
        let secret = secrets::random_token(32);
        let hash = secrets::hash(secret.clone()).await?;
        let row: AccountRow = diesel::update(accounts::table.find(current.id))
            .set((
                accounts::client_secret_hash.eq(Some(hash)),
                // The tokens issued under the old secret stop at their next request.
                accounts::credentials_version.eq(accounts::credentials_version + 1),
                crate::db::bump(accounts::version, accounts::updated_at),
            ))
            .returning(AccountRow::as_returning())
            .get_result(conn)
            .await?;
        Ok((
            Account::from(row),
            Some("account.credentials_reset"),
            Some(secret),
        ))
    }
}
