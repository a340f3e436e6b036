//! What is sent about organisations (a new one, a change, the directory's filters) and
//! accounts (a new person or system, a change, one's own password), and the account
//! returned with a credential shown once.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::{Validate, ValidationError, ValidationErrors};

use super::model::{Account, AccountKind, CommissionKind, OrganisationKind, Role, Scope};
use super::rules;
use crate::fields::validate_not_blank;
use crate::http::patch;

pub fn validate_assignable_role(role: &Role) -> Result<(), ValidationError> {
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

pub fn validate_siret(value: &str) -> Result<(), ValidationError> {
    let mut errors = Vec::new();
    rules::check_siret("siret", value, &mut errors);
    match errors.pop() {
        None => Ok(()),
        Some(e) => Err(ValidationError::new(match e.code.as_str() {
            "format" => "format",
            "not_attributed" => "not_attributed",
            _ => "check_digit",
        })
        .with_message(e.message.into())),
    }
}

pub fn validate_department_code(value: &str) -> Result<(), ValidationError> {
    if rules::department_code_is_valid(value) {
        Ok(())
    } else {
        Err(ValidationError::new("department_code")
            .with_message("département code must be 01 to 95, 2A, 2B or 971 to 978".into()))
    }
}

/// A new partner organisation.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "kind": "association", "name": "Association Habitat Solidaire de la Mayenne",
    "siret": "52601815908308", "department_code": "53",
    "contact_email": "contact@habitat-solidaire.example"
}))]
pub struct NewOrganisation {
    pub kind: OrganisationKind,
    #[validate(length(min = 1, max = 200), custom(function = "validate_not_blank"))]
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub name: String,
    /// 14 digits with a valid check digit: Luhn, or for La Poste's establishments (SIREN
    /// 356000000) a digit sum that is a multiple of 5.
    #[validate(custom(function = "validate_siret"))]
    #[schema(pattern = "^[0-9]{14}$")]
    pub siret: String,
    /// 01–19, 21–95, 2A, 2B, 971–978 (the overseas départements, Saint-Pierre-et-Miquelon, Saint-Barthélemy, Saint-Martin).
    #[validate(custom(function = "validate_department_code"))]
    #[schema(pattern = "^(0[1-9]|1[0-9]|2[1-9AB]|[3-8][0-9]|9[0-5]|97[1-8])$")]
    pub department_code: String,
    #[validate(email, length(max = 254))]
    #[schema(format = Email, max_length = 254)]
    pub contact_email: String,
    /// The commissions it is the secretariat of: only for a `department` or a
    /// `state_service` (`not_a_commission_kind`); default: none.
    #[validate(length(max = 4))]
    #[schema(max_items = 4)]
    #[serde(default)]
    pub commissions: Vec<CommissionKind>,
}

/// Changes to an organisation, as a JSON Merge Patch (RFC 7396): an absent field stays as
/// it is; none may be `null` (422 `not_nullable`). Sending what is stored changes nothing.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"contact_email": "accueil@habitat-solidaire.example"}))]
pub struct OrganisationPatch {
    #[validate(length(min = 1, max = 200), custom(function = "validate_not_blank"))]
    #[schema(nullable = false, min_length = 1, max_length = 200, pattern = "\\S")]
    #[serde(default, deserialize_with = "patch::not_null")]
    pub name: Option<String>,
    #[validate(custom(function = "validate_department_code"))]
    #[schema(
        nullable = false,
        pattern = "^(0[1-9]|1[0-9]|2[1-9AB]|[3-8][0-9]|9[0-5]|97[1-8])$"
    )]
    #[serde(default, deserialize_with = "patch::not_null")]
    pub department_code: Option<String>,
    #[validate(email, length(max = 254))]
    #[schema(nullable = false, format = Email, max_length = 254)]
    #[serde(default, deserialize_with = "patch::not_null")]
    pub contact_email: Option<String>,
    /// The commissions it is the secretariat of (the whole list; `[]`: none): a platform
    /// admin's decision (403 for the organisation's own admins), for a `department` or a
    /// `state_service` only.
    #[validate(length(max = 4))]
    #[schema(nullable = false, max_items = 4)]
    #[serde(default, deserialize_with = "patch::not_null")]
    pub commissions: Option<Vec<CommissionKind>>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrganisationFilters {
    /// Only organisations of this kind.
    pub kind: Option<OrganisationKind>,
    /// Only organisations of this département.
    #[param(pattern = "^(0[1-9]|1[0-9]|2[1-9AB]|[3-8][0-9]|9[0-5]|97[1-8])$")]
    pub department_code: Option<String>,
}

/// A change of one's own password.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"current_password": "Hx8…temporary", "new_password": "a long passphrase of mine"}))]
pub struct PasswordChange {
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub current_password: String,
    /// 12 to 200 characters.
    #[validate(length(min = 12, max = 200))]
    #[schema(min_length = 12, max_length = 200)]
    pub new_password: String,
}
