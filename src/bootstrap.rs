//! The first platform admin, and the demo data `make run` loads.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::auth::caller::Caller;
use crate::auth::secrets;
use crate::cases::{self, Step};
use crate::events::{self, NewEvent};
use crate::identity::model::{
    self, Account, AccountKind, Organisation, OrganisationKind, Role, Scope,
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
}

/// Synthetic organisations, one of each kind, after the scenarios of SCENARIOS.md.
pub const DEMO_ORGANISATIONS: &[DemoOrganisation] = &[
    DemoOrganisation {
        slug: "departement",
        kind: OrganisationKind::Department,
        name: "Département de Saône-et-Loire — démonstration",
        siret: "52601815908308",
        department_code: "71",
    },
    DemoOrganisation {
        slug: "ddets",
        kind: OrganisationKind::StateService,
        name: "DDETS-PP de la Mayenne, secrétariat de la CCAPEX — démonstration",
        siret: "16613186091395",
        department_code: "53",
    },
    DemoOrganisation {
        slug: "association",
        kind: OrganisationKind::Association,
        name: "Association Habitat et Entraide du Bocage — démonstration",
        siret: "19482199351817",
        department_code: "53",
    },
    DemoOrganisation {
        slug: "bailleur",
        kind: OrganisationKind::SocialLandlord,
        name: "Bourbonnais Habitat OPH — démonstration",
        siret: "90937865797546",
        department_code: "03",
    },
    // SCENARIOS.md §4: the Pas-de-Calais' call for projects and an association it funds.
    DemoOrganisation {
        slug: "departement-62",
        kind: OrganisationKind::Department,
        name: "Département du Pas-de-Calais — démonstration",
        siret: "94329099930232",
        department_code: "62",
    },
    DemoOrganisation {
        slug: "association-62",
        kind: OrganisationKind::Association,
        name: "Association Toit d'Artois — démonstration",
        siret: "86958306270030",
        department_code: "62",
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

/// Loads the demo organisations and accounts, once.
pub async fn load_demo(conn: &mut AsyncPgConnection) -> Result<(), String> {
    let present: i64 = organisations::table
        .filter(organisations::siret.eq(DEMO_ORGANISATIONS[0].siret))
        .count()
        .get_result(conn)
        .await
        .map_err(|e| e.to_string())?;
    if present > 0 {
        log::info!("demo data already loaded");
        return Ok(());
    }
    let person_hash = secrets::hash_secret(DEMO_PASSWORD);
    crate::db::transaction(conn, async |conn: &mut AsyncPgConnection| {
        let mut coordinators = Vec::new();
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
                if *role == Role::Coordinator {
                    coordinators.push(demo_caller(&account, demo.kind));
                }
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
        demo_cases(conn, &coordinators).await?;
        Ok::<_, crate::error::ApiError>(())
    })
    .await
    .map_err(|e| e.to_string())?;
    log::info!("loaded the demo organisations and accounts");
    Ok(())
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

/// A demo coordinator acting, as the API would see it.
fn demo_caller(account: &Account, kind: OrganisationKind) -> Caller {
    Caller {
        account_id: account.id,
        organisation_id: account.organisation_id,
        organisation_kind: Some(kind),
        role: account.role,
        kind: account.kind,
        scopes: account.scopes.clone(),
        session_id: None,
    }
}

/// Households and referrals after SCENARIOS.md: the CCAPEX's eviction-prevention referral
/// to the association, accepted; the department's referrals, one acknowledged, one
/// waiting for an answer. `coordinators` are in DEMO_ORGANISATIONS order.
async fn demo_cases(
    conn: &mut AsyncPgConnection,
    coordinators: &[Caller],
) -> Result<(), crate::error::ApiError> {
    use crate::referrals::model::{ReferralAction, ReferralRow, ReferralStatus};
    use crate::referrals::service::{self, ClosingDetails};
    use crate::schema::referrals;
    use chrono::NaiveDate;

    let (department, ccapex, association) = (&coordinators[0], &coordinators[1], &coordinators[2]);
    let association_id = association
        .organisation_id
        .expect("an organisation's account");
    struct Case {
        by: usize,
        last: &'static str,
        first: &'static str,
        birth: (i32, u32, u32),
        household_type: &'static str,
        adults: i32,
        children: i32,
        resources: i64,
        situation: &'static str,
        grounds: serde_json::Value,
        special: serde_json::Value,
        kind: &'static str,
        reason: &'static str,
        steps: &'static [ReferralAction],
    }
    let cases = [
        Case {
            by: 1,
            last: "Exemple",
            first: "Sonia",
            birth: (1991, 5, 14),
            household_type: "single_parent_family",
            adults: 1,
            children: 2,
            resources: 121_000,
            situation: "ordinary_housing_under_threat",
            grounds: serde_json::json!(["eviction_threat"]),
            special: serde_json::json!([]),
            kind: "empex",
            reason:
                "Trois mois d'impayés de loyer chez un bailleur privé ; recommandation de la CCAPEX",
            steps: &[ReferralAction::Acknowledge, ReferralAction::Accept],
        },
        Case {
            by: 0,
            last: "Démonstration",
            first: "Karim et Julie",
            birth: (1986, 9, 2),
            household_type: "couple",
            adults: 2,
            children: 0,
            resources: 164_000,
            situation: "emergency_shelter",
            grounds: serde_json::json!(["leaving_shelter", "dalo_recognised"]),
            special: serde_json::json!([]),
            kind: "avdl",
            reason: "Sortie d'hébergement d'urgence, recherche d'un T2 à Chalon-sur-Saône",
            steps: &[ReferralAction::Acknowledge],
        },
        Case {
            by: 0,
            last: "Fictif",
            first: "Lucas",
            birth: (2004, 2, 20),
            household_type: "single_person",
            adults: 1,
            children: 0,
            resources: 58_000,
            situation: "hosted_by_relatives",
            grounds: serde_json::json!(["young_child_welfare_past"]),
            special: serde_json::json!(["psychiatric_disorder"]),
            kind: "asll",
            reason: "Jeune de 22 ans sortant de l'aide sociale à l'enfance : accompagnement \
                     social lié au logement, validé par la CUD",
            steps: &[ReferralAction::Acknowledge, ReferralAction::Accept],
        },
        Case {
            by: 0,
            last: "Illustration",
            first: "Inès",
            birth: (1979, 11, 30),
            household_type: "single_parent_family",
            adults: 1,
            children: 1,
            resources: 98_000,
            situation: "hotel",
            grounds: serde_json::json!(["leaving_shelter"]),
            special: serde_json::json!([]),
            kind: "asll",
            reason: "Hébergée à l'hôtel avec sa fille ; accès à un logement autonome",
            steps: &[],
        },
    ];
    let mut household_ids = Vec::new();
    let mut measures = Vec::new();
    for case in cases {
        let by = &coordinators[case.by];
        let birth =
            NaiveDate::from_ymd_opt(case.birth.0, case.birth.1, case.birth.2).expect("valid date");
        let household = demo_household(
            conn,
            by,
            case.last,
            case.first,
            birth,
            case.household_type,
            case.adults,
            case.children,
            case.resources,
            case.situation,
            &case.grounds,
            &case.special,
        )
        .await?;
        household_ids.push(household.id);
        let mut referral: ReferralRow = diesel::insert_into(referrals::table)
            .values((
                referrals::id.eq(Uuid::now_v7()),
                referrals::household_id.eq(household.id),
                referrals::referrer_organisation_id.eq(household.created_by_organisation_id),
                referrals::referrer_account_id.eq(by.account_id),
                referrals::addressee_organisation_id.eq(association_id),
                referrals::measure_kind.eq(case.kind),
                referrals::reason.eq(case.reason),
                referrals::priority_grounds.eq(&case.grounds),
                referrals::special_grounds.eq(&case.special),
                referrals::response_due_on.eq(service::default_due(None)),
                referrals::status.eq(ReferralStatus::Submitted),
            ))
            .returning(ReferralRow::as_returning())
            .get_result(conn)
            .await?;
        cases::record(conn, Some(by), &referral, Step::new("submit", None)).await?;
        for step in case.steps {
            let to = crate::referrals::rules::transition(
                referral.status,
                *step,
                crate::referrals::rules::Party::Addressee,
            )
            .map_err(|e| crate::error::ApiError::internal(format!("{e:?}")))?;
            referral = service::apply(
                conn,
                Some(association),
                &referral,
                *step,
                to,
                None,
                ClosingDetails::default(),
            )
            .await?;
        }
        if referral.status == ReferralStatus::Accepted {
            // The measure starts with the acceptance, as through the API.
            measures.push(
                crate::measures::service::open_from_referral(conn, association, &referral).await?,
            );
        }
    }
    demo_measures(conn, department, association, &measures).await?;
    demo_housing(conn, coordinators, household_ids[1]).await?;
    demo_programmes(
        conn,
        ccapex,
        association,
        &coordinators[4],
        &coordinators[5],
    )
    .await
}

/// A synthetic household of `by`'s organisation, with consent to sharing.
#[allow(clippy::too_many_arguments)]
async fn demo_household(
    conn: &mut AsyncPgConnection,
    by: &Caller,
    last: &str,
    first: &str,
    birth: chrono::NaiveDate,
    household_type: &str,
    adults: i32,
    children: i32,
    resources: i64,
    situation: &str,
    grounds: &serde_json::Value,
    special: &serde_json::Value,
) -> Result<crate::households::model::HouseholdRow, crate::error::ApiError> {
    use crate::households::model::HouseholdRow;
    use crate::schema::households;
    let household: HouseholdRow = diesel::insert_into(households::table)
        .values((
            households::id.eq(Uuid::now_v7()),
            households::created_by_organisation_id
                .eq(by.organisation_id.expect("an organisation's account")),
            households::created_by_account_id.eq(by.account_id),
            households::department_code.eq(crate::measures::catalogue::department_of(
                conn,
                by.organisation_id.expect("an organisation's account"),
            )
            .await?),
            households::head_last_name.eq(last),
            households::head_first_names.eq(first),
            households::head_birth_date.eq(birth),
            households::identity_key.eq(crate::households::rules::identity_key(last, first, birth)),
            households::household_type.eq(household_type
                .parse::<crate::households::model::HouseholdType>()
                .map_err(crate::error::ApiError::internal)?),
            households::adults.eq(adults),
            households::children.eq(children),
            households::monthly_resources_cents.eq(resources),
            households::housing_situation.eq(situation
                .parse::<crate::households::model::HousingSituation>()
                .map_err(crate::error::ApiError::internal)?),
            households::priority_grounds.eq(grounds),
            households::special_grounds.eq(special),
            households::consent_given_on.eq(Some(
                chrono::NaiveDate::from_ymd_opt(2026, 11, 2).expect("valid date"),
            )),
            households::consent_recorded_by.eq(Some(by.account_id)),
        ))
        .returning(HouseholdRow::as_returning())
        .get_result(conn)
        .await?;
    // The feed starts where the data does: a partner syncing from it sees the demo.
    append(
        conn,
        "household.created",
        "household",
        household.id,
        &crate::events::catalogue::HouseholdEventData::from(&household),
        vec![household.created_by_organisation_id],
        false,
    )
    .await?;
    Ok(household)
}

/// The programmes of SCENARIOS.md §4 and DOMAIN.md: the Pas-de-Calais' call for projects
/// (45 ASRL and 58 AML measures, 515 000 €, two years) with 31 ASRL measures in use (5 of
/// them closed) and 20 AML ones; the DDETS' AGIR programme with its two targets, 5 measures
/// closed (one target met, one missed) and 2 running. The periods run around today, so
/// the demo reads the same whenever it is loaded.
async fn demo_programmes(
    conn: &mut AsyncPgConnection,
    ddets: &Caller,
    association: &Caller,
    pas_de_calais: &Caller,
    toit_d_artois: &Caller,
) -> Result<(), crate::error::ApiError> {
    use crate::measures::model::{MeasureAction, MeasureStatus, OutcomeCode};
    use crate::measures::service::MeasureClosing;
    use crate::measures::service::{self as measures, Opening, Payload};
    use crate::programmes::model::{NewProgramme, OutcomeTarget};
    use chrono::Duration;

    let today = crate::calendar::today();
    let org = |c: &Caller| c.organisation_id.expect("an organisation's account");
    let kind = async |conn: &mut AsyncPgConnection, code: &str| {
        crate::schema::measure_kinds::table
            .find(code)
            .select(crate::measures::catalogue::MeasureKindRow::as_select())
            .first::<crate::measures::catalogue::MeasureKindRow>(conn)
            .await
    };
    let no_grounds = serde_json::json!([]);
    // Opens a measure of `code` under the programme for a new household, started `days`
    // ago; closed yesterday with `outcomes` when there are some.
    #[allow(clippy::too_many_arguments)]
    async fn measure(
        conn: &mut AsyncPgConnection,
        operator: &Caller,
        kind: crate::measures::catalogue::MeasureKindRow,
        programme: Uuid,
        household: Uuid,
        started_days_ago: i64,
        outcomes: &[OutcomeCode],
        today: chrono::NaiveDate,
    ) -> Result<(), crate::error::ApiError> {
        let m = measures::open(
            conn,
            Some(operator),
            Opening {
                kind,
                household_id: household,
                operator: operator.organisation_id.expect("an organisation's account"),
                worker: Some(operator.account_id),
                funder: None,
                origin_referral: None,
                starts_on: today - Duration::days(started_days_ago),
                programme: Some(programme),
            },
        )
        .await?;
        if outcomes.is_empty() {
            return Ok(());
        }
        measures::perform(
            conn,
            Some(operator),
            &m,
            MeasureAction::Close,
            MeasureStatus::Closed,
            &Payload::Close(MeasureClosing {
                outcomes: outcomes.to_vec(),
                ended_on: Some(today - Duration::days(1)),
                comment: None,
            }),
            today,
        )
        .await?;
        Ok(())
    }

    let call = crate::programmes::handlers::create(
        conn,
        pas_de_calais,
        &NewProgramme {
            name: "Logement d'abord — appel à projets ASRL et AML".into(),
            starts_on: today - Duration::days(330),
            ends_on: today + Duration::days(400),
            department_codes: vec!["62".into()],
            operator_organisation_ids: vec![org(toit_d_artois)],
            funded: [
                ("asrl".to_owned(), 45),
                ("aml_logement_dabord".to_owned(), 58),
            ]
            .into(),
            budget_cents: 51_500_000,
            targets: Vec::new(),
        },
        Vec::new(),
    )
    .await?;
    let first_names = [
        "Camille", "Yanis", "Léa", "Mathis", "Inès", "Noah", "Jade", "Rayan",
    ];
    for i in 0..51 {
        let asrl = i < 31;
        let household = demo_household(
            conn,
            toit_d_artois,
            &format!("Artois-Démo {}", i + 1),
            first_names[i % first_names.len()],
            chrono::NaiveDate::from_ymd_opt(1970 + (i as i32 % 34), 1 + (i as u32 % 12), 10)
                .expect("valid date"),
            "single_person",
            1,
            0,
            60_000 + 1_000 * i as i64,
            if asrl {
                "hosted_by_relatives"
            } else {
                "street"
            },
            &serde_json::json!(["young_child_welfare_past"]),
            &no_grounds,
        )
        .await?;
        let outcomes: &[OutcomeCode] = match i {
            0 | 1 => &[OutcomeCode::AccessedHousing],
            2 => &[OutcomeCode::KeptHousing],
            3 => &[OutcomeCode::EndedByHousehold],
            4 => &[OutcomeCode::Rehoused],
            _ => &[],
        };
        let code = if asrl { "asrl" } else { "aml_logement_dabord" };
        let kind = kind(conn, code).await?;
        measure(
            conn,
            toit_d_artois,
            kind,
            call.id,
            household.id,
            10 + 9 * i as i64,
            outcomes,
            today,
        )
        .await?;
    }

    let agir = crate::programmes::handlers::create(
        conn,
        ddets,
        &NewProgramme {
            name: "AGIR — insertion des réfugiés, Mayenne".into(),
            starts_on: today - Duration::days(300),
            ends_on: today + Duration::days(65),
            department_codes: vec!["53".into()],
            operator_organisation_ids: vec![org(association)],
            funded: [("agir".to_owned(), 20)].into(),
            budget_cents: 12_000_000,
            targets: vec![
                OutcomeTarget {
                    kind: Some("agir".into()),
                    outcomes: vec![OutcomeCode::EmploymentOrTraining],
                    at_least_percent: 60,
                },
                OutcomeTarget {
                    kind: Some("agir".into()),
                    outcomes: vec![
                        OutcomeCode::AccessedHousing,
                        OutcomeCode::KeptHousing,
                        OutcomeCode::Rehoused,
                    ],
                    at_least_percent: 80,
                },
            ],
        },
        Vec::new(),
    )
    .await?;
    use OutcomeCode::*;
    let agir_outcomes: [&[OutcomeCode]; 7] = [
        &[EmploymentOrTraining, AccessedHousing],
        &[EmploymentOrTraining, AccessedHousing],
        &[EmploymentOrTraining, Rehoused],
        &[LeftWithoutSolution],
        &[EmploymentOrTraining],
        &[],
        &[],
    ];
    for (i, outcomes) in agir_outcomes.iter().enumerate() {
        let household = demo_household(
            conn,
            association,
            &format!("Agir-Démo {}", i + 1),
            ["Amal", "Dawit", "Hamid", "Sara", "Yonas", "Nour", "Aziz"][i],
            chrono::NaiveDate::from_ymd_opt(1985 + i as i32, 3, 1).expect("valid date"),
            "single_person",
            1,
            0,
            55_000,
            "temporary_housing",
            &serde_json::json!(["refugee"]),
            &no_grounds,
        )
        .await?;
        let kind = kind(conn, "agir").await?;
        measure(
            conn,
            association,
            kind,
            agir.id,
            household.id,
            200 - 20 * i as i64,
            outcomes,
            today,
        )
        .await?;
    }
    Ok(())
}

/// The measures of SCENARIOS.md §1 and §5: the EMPEX measure of the CCAPEX's referral, with
/// two home visits and an objective; the ASLL measure the department validated 170 days ago,
/// visited every fortnight until three weeks ago (its next visit is overdue in the worker's
/// caseload), its first renewal asked 12 days ago (overdue in the department's list).
async fn demo_measures(
    conn: &mut AsyncPgConnection,
    department: &Caller,
    association: &Caller,
    opened: &[crate::measures::model::MeasureRow],
) -> Result<(), crate::error::ApiError> {
    use crate::measures::contacts::{self, ContactEntry};
    use crate::measures::model::{ContactKind, MeasureAction, MeasureStatus};
    use crate::measures::service::MeasureStart;
    use crate::measures::service::{self as measures, Payload};
    use chrono::Duration;

    let today = crate::calendar::today();
    let worker = association.account_id;
    // A measure as stored now (each contact moves its version and counts).
    async fn load(
        conn: &mut AsyncPgConnection,
        id: Uuid,
    ) -> Result<crate::measures::model::MeasureRow, crate::error::ApiError> {
        <crate::measures::model::MeasureRow as crate::cases::Case>::load(conn, id, false)
            .await?
            .ok_or(crate::error::ApiError::NotFound)
    }
    for m in opened {
        if m.status == MeasureStatus::Active {
            for (days_ago, note) in [
                (6, "Premier rendez-vous au domicile"),
                (2, "Dossier FSL préparé"),
            ] {
                let on = (today - Duration::days(days_ago)).max(m.starts_on);
                let m = load(conn, m.id).await?;
                contacts::log(
                    conn,
                    association,
                    &m,
                    ContactEntry {
                        occurred_on: on,
                        kind: ContactKind::HomeVisit,
                        duration_minutes: Some(60),
                        worker,
                        note: Some(note.into()),
                    },
                )
                .await?;
            }
            measures::set_objective(
                conn,
                association,
                m,
                crate::measures::model::ObjectiveTheme::KeepingTheHome,
                "Signer un plan d'apurement de la dette locative avec le bailleur",
            )
            .await?;
            continue;
        }
        // The department's commission validated it 170 days ago.
        let started = measures::perform(
            conn,
            Some(department),
            m,
            MeasureAction::Start,
            MeasureStatus::Active,
            &Payload::Start(MeasureStart {
                starts_on: Some(today - Duration::days(170)),
                comment: Some("Validé par la CUD".into()),
            }),
            today,
        )
        .await?;
        let mut current = started;
        let mut on = current.starts_on + Duration::days(7);
        while on <= today - Duration::days(21) {
            contacts::log(
                conn,
                association,
                &current,
                ContactEntry {
                    occurred_on: on,
                    kind: ContactKind::HomeVisit,
                    duration_minutes: Some(45),
                    worker,
                    note: Some("Visite à domicile".into()),
                },
            )
            .await?;
            current = load(conn, current.id).await?;
            on += Duration::days(14);
        }
        let step = current.rules()?.renewal_policy[0];
        let renewal = crate::measures::renewals::request(
            conn,
            association,
            &current,
            department
                .organisation_id
                .expect("an organisation's account"),
            1,
            step,
            None,
        )
        .await?;
        diesel::update(crate::schema::renewals::table.find(renewal.id))
            .set(crate::schema::renewals::requested_on.eq(today - Duration::days(12)))
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// Housing after SCENARIOS.md §2 and §3: the landlord's units in Chalon-sur-Saône and
/// Montluçon (one of class G, not offered), an active intermediated-rental agreement with
/// the association covering 5 units with two attached, the couple proposed and accepted for
/// the T2, and their planned sub-lease (410 € + 60 € − 280 € of benefit: 190 € to pay).
async fn demo_housing(
    conn: &mut AsyncPgConnection,
    coordinators: &[Caller],
    couple: Uuid,
) -> Result<(), crate::error::ApiError> {
    use crate::schema::{agreements, proposals, subleases, units};
    use crate::subleases::model::{SubleaseKind, SubleaseStatus};
    use crate::units::model::{
        AgreementKind, AgreementStatus, EnergyClass, Financing, OwnerKind, ProposalStatus,
        UnitStatus, UnitType,
    };
    use chrono::NaiveDate;

    let (association, landlord) = (&coordinators[2], &coordinators[3]);
    let association_id = association
        .organisation_id
        .expect("an organisation's account");
    let landlord_id = landlord.organisation_id.expect("an organisation's account");
    use crate::events::catalogue as data;
    use crate::subleases::model::SubleaseRow;
    use crate::units::model::{AgreementRow, ProposalRow, UnitRow};
    let both = vec![landlord_id, association_id];
    let agreement = Uuid::now_v7();
    let agreement_row: AgreementRow = diesel::insert_into(agreements::table)
        .values((
            agreements::id.eq(agreement),
            agreements::landlord_organisation_id.eq(landlord_id),
            agreements::association_organisation_id.eq(association_id),
            agreements::kind.eq(AgreementKind::IntermediatedRental),
            agreements::units_covered.eq(5),
            agreements::starts_on.eq(NaiveDate::from_ymd_opt(2026, 9, 1).expect("valid date")),
            agreements::programme_label.eq(Some("Logement d'abord")),
            agreements::status.eq(AgreementStatus::Active),
            agreements::version.eq(2),
        ))
        .returning(AgreementRow::as_returning())
        .get_result(conn)
        .await?;
    // Proposed by the landlord, accepted by the association: two steps of its history.
    // Each step records the status it reached.
    cases::record_step(
        conn,
        Some(landlord),
        &AgreementRow {
            status: AgreementStatus::Proposed,
            ..agreement_row.clone()
        },
        Step::new("propose", None),
    )
    .await?;
    cases::record(
        conn,
        Some(association),
        &agreement_row,
        Step::new("accept", Some(AgreementStatus::Proposed.as_str())),
    )
    .await?;
    let units = [
        (
            "T2-CHALON-12",
            "12 rue des Tilleuls",
            "71100",
            "Chalon-sur-Saône",
            "71076",
            UnitType::T2,
            48.5,
            41_000,
            6_000,
            EnergyClass::D,
            UnitStatus::Reserved,
            true,
        ),
        (
            "T3-MONTLUCON-4",
            "4 avenue de la République",
            "03100",
            "Montluçon",
            "03185",
            UnitType::T3,
            67.0,
            52_000,
            8_000,
            EnergyClass::C,
            UnitStatus::Available,
            true,
        ),
        (
            "T1-CHALON-3",
            "3 place de Beaune",
            "71100",
            "Chalon-sur-Saône",
            "71076",
            UnitType::T1,
            28.0,
            30_000,
            4_000,
            EnergyClass::G,
            UnitStatus::Unavailable,
            false,
        ),
    ];
    let mut ids = Vec::new();
    for (
        reference,
        line,
        postcode,
        commune,
        insee,
        unit_type,
        area,
        rent,
        charges,
        energy,
        status,
        attached,
    ) in units
    {
        let id = Uuid::now_v7();
        ids.push(id);
        let unit: UnitRow = diesel::insert_into(units::table)
            .values((
                units::id.eq(id),
                units::holder_organisation_id.eq(landlord_id),
                units::owner_kind.eq(OwnerKind::SocialLandlord),
                units::holder_reference.eq(Some(reference)),
                units::address_lines.eq(serde_json::json!([line])),
                units::postcode.eq(postcode),
                units::commune.eq(commune),
                units::insee_code.eq(insee),
                units::unit_type.eq(unit_type),
                units::area_m2.eq(area),
                units::floor.eq(1),
                units::lift.eq(false),
                units::accessible.eq(false),
                units::rent_cents.eq(rent),
                units::charges_cents.eq(charges),
                units::financing.eq(Financing::Plai),
                units::energy_class.eq(energy),
                units::energy_assessed_on.eq(NaiveDate::from_ymd_opt(2024, 3, 1)),
                units::status.eq(status),
                units::agreement_id.eq(attached.then_some(agreement)),
                units::agreement_association_id.eq(attached.then_some(association_id)),
            ))
            .returning(UnitRow::as_returning())
            .get_result(conn)
            .await?;
        let audience = if attached {
            both.clone()
        } else {
            vec![landlord_id]
        };
        append(
            conn,
            "unit.created",
            "unit",
            id,
            &data::UnitEventData::from(&unit),
            audience,
            false,
        )
        .await?;
    }
    let proposal: ProposalRow = diesel::insert_into(proposals::table)
        .values((
            proposals::id.eq(Uuid::now_v7()),
            proposals::unit_id.eq(ids[0]),
            proposals::household_id.eq(couple),
            proposals::association_organisation_id.eq(association_id),
            proposals::landlord_organisation_id.eq(landlord_id),
            proposals::proposed_by_account_id.eq(association.account_id),
            proposals::comment.eq(Some(
                "Couple sortant d'hébergement d'urgence, mesure IML acceptée",
            )),
            proposals::status.eq(ProposalStatus::Accepted),
            proposals::version.eq(2),
        ))
        .returning(ProposalRow::as_returning())
        .get_result(conn)
        .await?;
    cases::record_step(
        conn,
        Some(association),
        &ProposalRow {
            status: ProposalStatus::Proposed,
            ..proposal.clone()
        },
        Step::new("propose", None),
    )
    .await?;
    cases::record(
        conn,
        Some(landlord),
        &proposal,
        Step::new("accept", Some(ProposalStatus::Proposed.as_str())),
    )
    .await?;
    let sublease = Uuid::now_v7();
    let sublease_row: SubleaseRow = diesel::insert_into(subleases::table)
        .values((
            subleases::id.eq(sublease),
            subleases::unit_id.eq(ids[0]),
            subleases::main_tenant_organisation_id.eq(association_id),
            subleases::landlord_organisation_id.eq(landlord_id),
            subleases::household_id.eq(couple),
            subleases::kind.eq(SubleaseKind::Iml),
            subleases::starts_on.eq(NaiveDate::from_ymd_opt(2026, 12, 1).expect("valid date")),
            subleases::planned_end_on.eq(NaiveDate::from_ymd_opt(2027, 12, 1).expect("valid date")),
            subleases::rent_cents.eq(41_000),
            subleases::charges_cents.eq(6_000),
            subleases::housing_benefit_cents.eq(28_000),
            subleases::deposit_cents.eq(0),
            subleases::status.eq(SubleaseStatus::Planned),
        ))
        .returning(SubleaseRow::as_returning())
        .get_result(conn)
        .await?;
    cases::record(
        conn,
        Some(association),
        &sublease_row,
        Step::new("plan", None),
    )
    .await?;
    // The intermediated rental's support measure, which the landlord sees running.
    let kind: crate::measures::catalogue::MeasureKindRow = crate::schema::measure_kinds::table
        .find("iml")
        .select(crate::measures::catalogue::MeasureKindRow::as_select())
        .first(conn)
        .await?;
    let measure = crate::measures::service::open(
        conn,
        Some(association),
        crate::measures::service::Opening {
            kind,
            household_id: couple,
            operator: association_id,
            worker: Some(association.account_id),
            funder: coordinators[1].organisation_id,
            origin_referral: None,
            starts_on: sublease_row.starts_on,
            programme: None,
        },
    )
    .await?;
    diesel::update(subleases::table.find(sublease))
        .set(subleases::measure_id.eq(Some(measure.id)))
        .execute(conn)
        .await?;
    Ok(())
}
