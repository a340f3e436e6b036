//! The chapters of the demo's story (SCENARIOS.md §1, §2, §4, §5), each a sequence of
//! partners' requests at their dates.

use reqwest::Method;
use serde_json::json;

use super::{id, Cast, Orgs, Teller};

impl Teller {
    /// SCENARIOS.md §2 and §3.
    pub(super) async fn housing_and_the_couple(
        &self,
        cast: &Cast,
        orgs: &Orgs,
    ) -> Result<(), String> {
        self.at(100);
        let unit = |reference: &str,
                    line: &str,
                    postcode: &str,
                    commune: &str,
                    insee: &str,
                    unit_type: &str,
                    area: f64,
                    rent: i64,
                    charges: i64,
                    energy: &str,
                    status: &str| {
            json!({"owner_kind": "social_landlord", "holder_reference": reference,
                   "address_lines": [line], "postcode": postcode, "commune": commune,
                   "insee_code": insee, "unit_type": unit_type, "area_m2": area, "floor": 1,
                   "lift": false, "accessible": false, "rent_cents": rent, "charges_cents": charges,
                   "financing": "plai", "energy_class": energy, "energy_assessed_on": "2024-03-01",
                   "status": status})
        };
        let t2 = self
            .post(
                &cast.landlord,
                "/v1/units",
                unit(
                    "T2-CHALON-12",
                    "12 rue des Tilleuls",
                    "71100",
                    "Chalon-sur-Saône",
                    "71076",
                    "t2",
                    48.5,
                    41_000,
                    6_000,
                    "d",
                    "available",
                ),
            )
            .await?;
        let t3 = self
            .post(
                &cast.landlord,
                "/v1/units",
                unit(
                    "T3-MONTLUCON-4",
                    "4 avenue de la République",
                    "03100",
                    "Montluçon",
                    "03185",
                    "t3",
                    67.0,
                    52_000,
                    8_000,
                    "c",
                    "available",
                ),
            )
            .await?;
        // A class-G unit may not be let (DOMAIN.md): held, never offered.
        self.post(
            &cast.landlord,
            "/v1/units",
            unit(
                "T1-CHALON-3",
                "3 place de Beaune",
                "71100",
                "Chalon-sur-Saône",
                "71076",
                "t1",
                28.0,
                30_000,
                4_000,
                "g",
                "unavailable",
            ),
        )
        .await?;
        self.at(98);
        let agreement = self
            .post(
                &cast.landlord,
                "/v1/agreements",
                json!({"association_organisation_id": orgs.association, "kind": "intermediated_rental",
                       "units_covered": 5, "starts_on": self.date(96),
                       "programme_label": "Logement d'abord"}),
            )
            .await?;
        self.at(96);
        let agreement = self
            .act(
                &cast.association,
                &format!("/v1/agreements/{}/accept", id(&agreement)),
                &agreement,
                json!({}),
            )
            .await?;
        self.post(
            &cast.landlord,
            &format!("/v1/agreements/{}/units", id(&agreement)),
            json!({"unit_ids": [id(&t2), id(&t3)]}),
        )
        .await?;

        // The couple, registered and referred by the DALO mediation commission.
        let couple = self
            .household(
                &cast.dalo,
                62,
                ("Démonstration", "Karim et Julie", "1986-09-02"),
                ("couple", 2, 0),
                164_000,
                "emergency_shelter",
                json!(["leaving_shelter", "dalo_recognised"]),
                json!([]),
                Some("Accompagnement et logement après la décision de la commission DALO"),
            )
            .await?;
        let moves_in = self.date(-25);
        let referral = self
            .referral(
                (&cast.dalo, &cast.association),
                json!({"household_id": id(&couple), "addressee_organisation_id": orgs.association,
                       "measure_kind": "iml", "desired_start": moves_in,
                       "reason": "Sortie d'hébergement d'urgence, reconnu prioritaire DALO : intermédiation locative vers un T2 à Chalon-sur-Saône",
                       "mandate": {"commission": "dalo_mediation", "decision_reference": "DALO-71-2026-0087",
                                   "decided_on": self.date(64)}}),
                60,
                &[("acknowledge", 58), ("accept", 50)],
            )
            .await?;
        let iml = self.measure_of(&cast.association, &referral).await?;
        self.at(20);
        let proposal = self
            .post(
                &cast.association,
                &format!("/v1/units/{}/proposals", id(&t2)),
                json!({"household_id": id(&couple),
                       "comment": "Couple sortant d'hébergement d'urgence, mesure IML acceptée"}),
            )
            .await?;
        self.at(18);
        self.act(
            &cast.landlord,
            &format!("/v1/proposals/{}/accept", id(&proposal)),
            &proposal,
            json!({}),
        )
        .await?;
        self.at(10);
        // 410 € + 60 € − 280 € of housing benefit: 190 € to pay.
        self.post(
            &cast.association,
            "/v1/subleases",
            json!({"unit_id": id(&t2), "household_id": id(&couple), "kind": "iml",
                   "starts_on": moves_in, "planned_end_on": moves_in + chrono::Months::new(12),
                   "rent_cents": 41_000, "charges_cents": 6_000, "housing_benefit_cents": 28_000,
                   "deposit_cents": 0, "measure_id": id(&iml)}),
        )
        .await?;
        Ok(())
    }

    /// SCENARIOS.md §1: the CCAPEX refers a household threatened with eviction, under its
    /// decision; the association's EMPEX measure runs.
    pub(super) async fn eviction_prevention(&self, cast: &Cast, orgs: &Orgs) -> Result<(), String> {
        let sonia = self
            .household(
                &cast.ccapex,
                40,
                ("Exemple", "Sonia", "1991-05-14"),
                ("single_parent_family", 1, 2),
                121_000,
                "ordinary_housing_under_threat",
                json!(["eviction_threat"]),
                json!([]),
                None,
            )
            .await?;
        let referral = self
            .referral(
                (&cast.ccapex, &cast.association),
                json!({"household_id": id(&sonia), "addressee_organisation_id": orgs.association,
                       "measure_kind": "empex",
                       "reason": "Trois mois d'impayés de loyer chez un bailleur privé ; recommandation de la CCAPEX",
                       "mandate": {"commission": "ccapex", "decision_reference": "CCAPEX-53-2026-0142",
                                   "decided_on": self.date(38)}}),
                36,
                &[("acknowledge", 35), ("accept", 33)],
            )
            .await?;
        let empex = self.measure_of(&cast.association, &referral).await?;
        self.contact(
            &cast.association,
            &empex,
            6,
            60,
            "Premier rendez-vous au domicile",
        )
        .await?;
        self.contact(&cast.association, &empex, 2, 60, "Dossier FSL préparé")
            .await?;
        self.post(
            &cast.association,
            &format!("/v1/measures/{}/objectives", id(&empex)),
            json!({"theme": "keeping_the_home",
                   "description": "Signer un plan d'apurement de la dette locative avec le bailleur"}),
        )
        .await?;
        Ok(())
    }

    /// SCENARIOS.md §5: the department's ASLL referrals; Lucas's measure, validated by the
    /// CUD, visited every fortnight, then late; its first renewal waiting.
    pub(super) async fn asll(&self, cast: &Cast, orgs: &Orgs) -> Result<(), String> {
        let lucas = self
            .household(
                &cast.department,
                200,
                ("Fictif", "Lucas", "2004-02-20"),
                ("single_person", 1, 0),
                58_000,
                "hosted_by_relatives",
                json!(["young_child_welfare_past"]),
                json!(["psychiatric_disorder"]),
                Some("Accompagnement social lié au logement"),
            )
            .await?;
        let referral = self
            .referral(
                (&cast.department, &cast.association),
                json!({"household_id": id(&lucas), "addressee_organisation_id": orgs.association,
                       "measure_kind": "asll",
                       "reason": "Jeune de 22 ans sortant de l'aide sociale à l'enfance : accompagnement social lié au logement"}),
                195,
                &[("acknowledge", 192), ("accept", 188)],
            )
            .await?;
        let proposed = self.measure_of(&cast.department, &referral).await?;
        self.at(170);
        let started = self
            .act(
                &cast.department,
                &format!("/v1/measures/{}/start", id(&proposed)),
                &proposed,
                json!({"starts_on": self.date(170), "comment": "Validé par la CUD"}),
            )
            .await?;
        let mut day = 170 - 7;
        while day >= 21 {
            self.contact(&cast.association, &started, day, 45, "Visite à domicile")
                .await?;
            day -= 14;
        }
        self.at(12);
        self.post(
            &cast.association,
            &format!("/v1/measures/{}/renewals", id(&started)),
            json!({}),
        )
        .await?;

        let ines = self
            .household(
                &cast.department,
                20,
                ("Illustration", "Inès", "1979-11-30"),
                ("single_parent_family", 1, 1),
                98_000,
                "hotel",
                json!(["leaving_shelter"]),
                json!([]),
                Some("Accompagnement social lié au logement"),
            )
            .await?;
        self.referral(
            (&cast.department, &cast.association),
            json!({"household_id": id(&ines), "addressee_organisation_id": orgs.association,
                   "measure_kind": "asll",
                   "reason": "Hébergée à l'hôtel avec sa fille ; accès à un logement autonome"}),
            15,
            &[],
        )
        .await?;
        Ok(())
    }

    /// SCENARIOS.md §4 and AGIR: two programmes, their measures started over the months.
    pub(super) async fn programmes(&self, cast: &Cast, orgs: &Orgs) -> Result<(), String> {
        self.at(330);
        let call = self
            .post(
                &cast.pas_de_calais,
                "/v1/programmes",
                json!({"name": "Logement d'abord — appel à projets ASRL et AML",
                       "starts_on": self.date(330), "ends_on": self.date(-400),
                       "department_codes": ["62"], "operator_organisation_ids": [orgs.toit_d_artois],
                       "funded": {"asrl": 45, "aml_logement_dabord": 58}, "budget_cents": 51_500_000}),
            )
            .await?;
        let first_names = [
            "Camille", "Yanis", "Léa", "Mathis", "Inès", "Noah", "Jade", "Rayan",
        ];
        let mut to_close = Vec::new();
        for i in 0..51i64 {
            let asrl = i < 31;
            let started = 10 + 6 * i;
            let birth = format!("{}-{:02}-10", 1970 + i % 34, 1 + i % 12);
            // The first ten young people are referred by the department for ASRL (its
            // delays, from referral to start, are the programme's); the others come to the
            // association directly.
            let referred = i < 10;
            let registrar = if referred {
                &cast.pas_de_calais
            } else {
                &cast.toit_d_artois
            };
            let h = self
                .household(
                    registrar,
                    started + 8,
                    (
                        &format!("Artois-Démo {}", i + 1),
                        first_names[i as usize % first_names.len()],
                        &birth,
                    ),
                    ("single_person", 1, 0),
                    60_000 + 1_000 * i,
                    if asrl {
                        "hosted_by_relatives"
                    } else {
                        "street"
                    },
                    json!(["young_child_welfare_past"]),
                    json!([]),
                    Some("Accompagnement renforcé du programme Logement d'abord"),
                )
                .await?;
            let m = if referred {
                let referral = self
                    .referral(
                        (&cast.pas_de_calais, &cast.toit_d_artois),
                        json!({"household_id": id(&h), "addressee_organisation_id": orgs.toit_d_artois,
                               "measure_kind": "asrl",
                               "reason": "Jeune sortant de l'aide sociale à l'enfance : accompagnement renforcé vers le logement"}),
                        started + 7,
                        &[("acknowledge", started + 5), ("accept", started)],
                    )
                    .await?;
                let opened = self.measure_of(&cast.toit_d_artois, &referral).await?;
                self.call(
                    Method::PATCH,
                    &format!("/v1/measures/{}", id(&opened)),
                    &cast.toit_d_artois,
                    Some(&opened["version"]),
                    Some(json!({"programme_id": id(&call)})),
                )
                .await?
            } else {
                self.at(started);
                self.post(
                    &cast.toit_d_artois,
                    "/v1/measures",
                    json!({"household_id": id(&h), "kind": if asrl { "asrl" } else { "aml_logement_dabord" },
                           "programme_id": id(&call)}),
                )
                .await?
            };
            let outcomes = match i {
                0 | 1 => json!(["accessed_housing"]),
                2 => json!(["kept_housing"]),
                3 => json!(["ended_by_household"]),
                4 => json!(["rehoused"]),
                _ => continue,
            };
            to_close.push((cast.toit_d_artois.as_str(), m, outcomes));
        }

        self.at(300);
        let agir = self
            .post(
                &cast.ccapex,
                "/v1/programmes",
                json!({"name": "AGIR — insertion des réfugiés, Mayenne",
                       "starts_on": self.date(300), "ends_on": self.date(-65),
                       "department_codes": ["53"], "operator_organisation_ids": [orgs.association],
                       "funded": {"agir": 20}, "budget_cents": 12_000_000,
                       "targets": [
                           {"kind": "agir", "outcomes": ["employment_or_training"], "at_least_percent": 60},
                           {"kind": "agir", "outcomes": ["accessed_housing", "kept_housing", "rehoused"], "at_least_percent": 80}
                       ]}),
            )
            .await?;
        let agir_outcomes = [
            Some(json!(["employment_or_training", "accessed_housing"])),
            Some(json!(["employment_or_training", "accessed_housing"])),
            Some(json!(["employment_or_training", "rehoused"])),
            Some(json!(["left_without_solution"])),
            Some(json!(["employment_or_training"])),
            None,
            None,
        ];
        let names = ["Amal", "Dawit", "Hamid", "Sara", "Yonas", "Nour", "Aziz"];
        for (i, outcomes) in agir_outcomes.into_iter().enumerate() {
            let started = 200 - 20 * i as i64;
            let h = self
                .household(
                    &cast.association,
                    started + 1,
                    (
                        &format!("Agir-Démo {}", i + 1),
                        names[i],
                        &format!("{}-03-01", 1985 + i),
                    ),
                    ("single_person", 1, 0),
                    55_000,
                    "temporary_housing",
                    json!(["refugee"]),
                    json!([]),
                    Some("Accompagnement vers l'emploi et le logement (AGIR)"),
                )
                .await?;
            self.at(started);
            let m = self
                .post(
                    &cast.association,
                    "/v1/measures",
                    json!({"household_id": id(&h), "kind": "agir", "programme_id": id(&agir)}),
                )
                .await?;
            if let Some(outcomes) = outcomes {
                to_close.push((cast.association.as_str(), m, outcomes));
            }
        }
        // Closed yesterday, with their outcomes.
        self.at(1);
        for (token, m, outcomes) in to_close {
            let current = self.get(token, &format!("/v1/measures/{}", id(&m))).await?;
            self.act(
                token,
                &format!("/v1/measures/{}/close", id(&m)),
                &current,
                json!({"outcomes": outcomes}),
            )
            .await?;
        }
        Ok(())
    }
}
