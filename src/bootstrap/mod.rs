//! The first platform admin, and the demo data `make run` loads.
//!
//! The demo's organisations and accounts are written directly (with the credentials the
//! README gives, which the API never lets anyone choose); everything else, households,
//! referrals, measures, housing, programmes, is told as a story through the API itself
//! (`story`), each step at its own date: the demo goes through the same rules as a
//! partner's requests, and its history has the dates a partner would see.

mod story;

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::auth::secrets;
use crate::events::{self, NewEvent};
use crate::identity::model::{
    self, Account, AccountKind, CommissionKind, Organisation, OrganisationKind, Role, Scope,
};
use crate::identity::rules::normalise_email;
use crate::schema::{accounts, organisations};

/// Creates the platform admin from configuration when the database has none.
pub async fn ensure_platform_admin(
    conn: &mut AsyncPgConnection,
    email: Option<&str>,
    password: Option<&str>,
) -> Result<(), String> {
    let existing: i64 = accounts::table
        .filter(accounts::role.eq(Role::PlatformAdmin))
        .count()
        .get_result(conn)
        .await
        .map_err(|e| e.to_string())?;
    if existing > 0 {
        return Ok(());
    }
    let (Some(email), Some(password)) = (email, password) else {
        log::warn!(
            "no platform admin exists: set PASSERELLE_BOOTSTRAP_ADMIN_EMAIL and PASSERELLE_BOOTSTRAP_ADMIN_PASSWORD to create one"
        );
        return Ok(());
    };
    let hash = secrets::hash_secret(password);
    diesel::insert_into(accounts::table)
        .values((
            accounts::id.eq(Uuid::now_v7()),
            accounts::kind.eq(AccountKind::Person),
            accounts::role.eq(Role::PlatformAdmin),
            accounts::name.eq("Platform admin"),
            accounts::email.eq(Some(normalise_email(email))),
            accounts::password_hash.eq(Some(hash)),
        ))
        .execute(conn)
        .await
        .map_err(|e| e.to_string())?;
    log::info!("created the platform admin {email}");
    Ok(())
}

/// The password of every demo person (documented in the README; demo only).
pub const DEMO_PASSWORD: &str = "demo-passerelle-2026";

pub struct DemoOrganisation {
    pub slug: &'static str,
    pub kind: OrganisationKind,
    pub name: &'static str,
    pub siret: &'static str,
    pub department_code: &'static str,
    /// The commissions it is the secretariat of.
    pub commissions: &'static [CommissionKind],
}

/// Synthetic organisations, one of each kind, after the scenarios of SCENARIOS.md.
pub const DEMO_ORGANISATIONS: &[DemoOrganisation] = &[
    DemoOrganisation {
        slug: "departement",
        kind: OrganisationKind::Department,
        name: "Département de Saône-et-Loire — démonstration",
        siret: "52601815908308",
        department_code: "71",
        commissions: &[CommissionKind::Cud],
    },
    DemoOrganisation {
        slug: "ddets",
        kind: OrganisationKind::StateService,
        name: "DDETS-PP de la Mayenne, secrétariat de la CCAPEX — démonstration",
        siret: "16613186091395",
        department_code: "53",
        commissions: &[CommissionKind::Ccapex],
    },
    DemoOrganisation {
        slug: "association",
        kind: OrganisationKind::Association,
        name: "Association Habitat et Entraide du Bocage — démonstration",
        siret: "19482199351817",
        commissions: &[],
        department_code: "53",
    },
    DemoOrganisation {
        slug: "bailleur",
        kind: OrganisationKind::SocialLandlord,
        name: "Bourbonnais Habitat OPH — démonstration",
        siret: "90937865797546",
        commissions: &[],
        department_code: "03",
    },
    // SCENARIOS.md §4: the Pas-de-Calais' call for projects and an association it funds.
    DemoOrganisation {
        slug: "departement-62",
        kind: OrganisationKind::Department,
        name: "Département du Pas-de-Calais — démonstration",
        siret: "94329099930232",
        commissions: &[],
        department_code: "62",
    },
    DemoOrganisation {
        slug: "association-62",
        kind: OrganisationKind::Association,
        name: "Association Toit d'Artois — démonstration",
        siret: "86958306270030",
        commissions: &[],
        department_code: "62",
    },
    // SCENARIOS.md §2: the DALO mediation commission of Saône-et-Loire, which funds the
    // couple's intermediated rental.
    DemoOrganisation {
        slug: "ddets-71",
        kind: OrganisationKind::StateService,
        name: "DDETS de Saône-et-Loire, secrétariat de la commission de médiation DALO — démonstration",
        siret: "73918462057311",
        commissions: &[CommissionKind::DaloMediation],
        department_code: "71",
    },
];

pub const DEMO_ROLES: &[(Role, &str)] = &[
    (Role::Admin, "Alex Admin"),
    (Role::Coordinator, "Claude Coordination"),
    (Role::Worker, "Camille Travailleuse-Sociale"),
    (Role::Viewer, "Dominique Lecture"),
];

pub fn demo_email(role: Role, slug: &str) -> String {
    format!("{role}@{slug}.demo.passerelle.test")
}

pub fn demo_client(slug: &str) -> (String, String) {
    (format!("demo-{slug}"), format!("demo-secret-{slug}"))
}

/// Loads the demo, once, into the database at `database_url`: its organisations and
/// accounts, then its story through the API (`story`). Runs on an actix system (a
/// server of its own serves the story's requests); see [`load_demo_blocking`].
pub async fn load_demo(database_url: &str) -> Result<(), String> {
    use diesel_async::AsyncConnection;
    let mut conn = AsyncPgConnection::establish(database_url)
        .await
        .map_err(|e| format!("cannot connect: {e}"))?;
    if !load_demo_identities(&mut conn).await? {
        return Ok(());
    }
    drop(conn);
    story::tell(database_url).await?;
    log::info!("loaded the demo data");
    Ok(())
}

/// [`load_demo`] on an actix system of its own (at start-up, before the service's).
pub fn load_demo_blocking(database_url: &str) -> Result<(), String> {
    actix_web::rt::System::new().block_on(load_demo(database_url))
}

/// Writes the demo organisations and accounts, unless they are there; whether it did.
async fn load_demo_identities(conn: &mut AsyncPgConnection) -> Result<bool, String> {
    let present: i64 = organisations::table
        .filter(organisations::siret.eq(DEMO_ORGANISATIONS[0].siret))
        .count()
        .get_result(conn)
        .await
        .map_err(|e| e.to_string())?;
    if present > 0 {
        log::info!("demo data already loaded");
        return Ok(false);
    }
    let person_hash = secrets::hash_secret(DEMO_PASSWORD);
    crate::db::transaction(conn, async |conn: &mut AsyncPgConnection| {
        for demo in DEMO_ORGANISATIONS {
            let row: model::OrganisationRow = diesel::insert_into(organisations::table)
                .values((
                    organisations::id.eq(Uuid::now_v7()),
                    organisations::kind.eq(demo.kind),
                    organisations::name.eq(demo.name),
                    organisations::siret.eq(demo.siret),
                    organisations::department_code.eq(demo.department_code),
                    organisations::contact_email
                        .eq(format!("contact@{}.demo.passerelle.test", demo.slug)),
                    organisations::commissions.eq(events::data(&demo.commissions)?),
                ))
                .returning(model::OrganisationRow::as_returning())
                .get_result(conn)
                .await?;
            let org = Organisation::from(row);
            append(
                conn,
                "organisation.created",
                "organisation",
                org.id,
                &org,
                vec![org.id],
                true,
            )
            .await?;
            for (role, name) in DEMO_ROLES {
                let row: model::AccountRow = diesel::insert_into(accounts::table)
                    .values((
                        accounts::id.eq(Uuid::now_v7()),
                        accounts::organisation_id.eq(Some(org.id)),
                        accounts::kind.eq(AccountKind::Person),
                        accounts::role.eq(*role),
                        accounts::name.eq(*name),
                        accounts::email.eq(Some(demo_email(*role, demo.slug))),
                        accounts::password_hash.eq(Some(&person_hash)),
                    ))
                    .returning(model::AccountRow::as_returning())
                    .get_result(conn)
                    .await?;
                let account = Account::from(row);
                append(
                    conn,
                    "account.created",
                    "account",
                    account.id,
                    &account,
                    vec![org.id],
                    false,
                )
                .await?;
            }
            let (client_id, secret) = demo_client(demo.slug);
            let row: model::AccountRow = diesel::insert_into(accounts::table)
                .values((
                    accounts::id.eq(Uuid::now_v7()),
                    accounts::organisation_id.eq(Some(org.id)),
                    accounts::kind.eq(AccountKind::System),
                    accounts::role.eq(Role::Coordinator),
                    accounts::name.eq(format!("Logiciel métier ({})", demo.slug)),
                    accounts::client_id.eq(Some(client_id)),
                    accounts::client_secret_hash.eq(Some(secrets::hash_secret(&secret))),
                    accounts::scopes.eq(model::join_scopes(&[
                        Scope::OrganisationsRead,
                        Scope::AccountsRead,
                        Scope::EventsRead,
                        Scope::HouseholdsRead,
                        Scope::HouseholdsWrite,
                        Scope::ReferralsRead,
                        Scope::ReferralsWrite,
                        Scope::HousingRead,
                        Scope::HousingWrite,
                        Scope::MeasuresRead,
                        Scope::MeasuresWrite,
                        Scope::ProgrammesWrite,
                        Scope::WebhooksRead,
                        Scope::WebhooksWrite,
                    ])),
                ))
                .returning(model::AccountRow::as_returning())
                .get_result(conn)
                .await?;
            let account = Account::from(row);
            append(
                conn,
                "account.created",
                "account",
                account.id,
                &account,
                vec![org.id],
                false,
            )
            .await?;
        }
        Ok::<_, crate::error::ApiError>(())
    })
    .await
    .map_err(|e| e.to_string())?;
    log::info!("loaded the demo organisations and accounts");
    Ok(true)
}

async fn append<T: serde::Serialize>(
    conn: &mut AsyncPgConnection,
    event_type: &'static str,
    subject_type: &'static str,
    subject_id: Uuid,
    data: &T,
    recipients: Vec<Uuid>,
    for_platform: bool,
) -> Result<(), crate::error::ApiError> {
    events::append(
        conn,
        None,
        NewEvent {
            event_type,
            subject_type,
            subject_id,
            data: events::data(data)?,
            recipients,
            for_platform,
        },
    )
    .await
}
