//! Supply relationships: a distributor names a farm of the platform as
//! producer only with the farm's consent, and loses it at once when the farm
//! ends the relationship, is suspended or drops a certification.

use diesel::prelude::*;
use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
use futures_util::future::join;
use serde_json::{Value, json};

use crate::helpers::{SIRETS, Session, TestApp, assert_problem, error_fields, farm};

struct Trade {
    app: TestApp,
    admin: Session,
    marie: Session,
    farm: String,
    luc: Session,
    distributor: String,
}

impl Trade {
    async fn new() -> Self {
        let app = TestApp::spawn().await;
        let admin = app.admin().await;
        let marie = app.signed_up("marie@ferme-envol.fr").await;
        let farm_id = app.create_organisation(&marie, farm(SIRETS[0])).await;
        app.verify(&admin, &farm_id).await;
        let luc = app.signed_up("luc@legumerie.fr").await;
        let mut distributor = farm(SIRETS[2]);
        distributor["kind"] = json!("distributor");
        distributor["name"] = json!("Légumerie du Cœur d'Essonne");
        distributor.as_object_mut().unwrap().remove("farm");
        distributor["distributor"] =
            json!({"delivery_area": [{"kind": "epci", "code": "200057859"}]});
        let distributor_id = app.create_organisation(&luc, distributor).await;
        app.verify(&admin, &distributor_id).await;
        Trade {
            app,
            admin,
            marie,
            farm: farm_id,
            luc,
            distributor: distributor_id,
        }
    }

    fn carrots(&self) -> Value {
        json!({
            "name": "Carottes de l'Envol", "family": "FRUITS_ET_LEGUMES", "labels": ["BIO"],
            "origin": "FRANCE", "unit": "KGM", "price_cents": 190, "vat_rate": "5.5",
            "stock": "100", "min_order_quantity": "1", "order_step": "1",
            "lead_time_days": 2, "delivery_weekdays": [1, 2, 3, 4, 5],
            "producer": {"organisation_id": self.farm}
        })
    }

    async fn list_offer(&self) -> reqwest::Response {
        self.app
            .post_json(
                &format!("/api/v1/organisations/{}/offers", self.distributor),
                &self.carrots(),
                Some(&self.luc.access),
            )
            .await
    }

    async fn act(&self, who: &Session, relationship: &str, action: &str) -> reqwest::Response {
        self.app
            .post_json(
                &format!("/api/v1/supply-relationships/{relationship}/{action}"),
                &json!({"reason": "test"}),
                Some(&who.access),
            )
            .await
    }

    /// The offer as its supplier sees it, with its ETag.
    async fn offer(&self, id: &str) -> (Value, String) {
        let response = self
            .app
            .get_as(&format!("/api/v1/offers/{id}"), &self.luc.access)
            .await;
        assert_eq!(response.status(), 200);
        let etag = response.headers()["etag"].to_str().unwrap().to_owned();
        (response.json().await.unwrap(), etag)
    }

    /// The supplier sets the offer's status, with the version it reads.
    async fn set_status(&self, id: &str, status: &str) -> reqwest::Response {
        let (_, etag) = self.offer(id).await;
        self.app
            .client
            .patch(self.app.url(&format!("/api/v1/offers/{id}")))
            .bearer_auth(&self.luc.access)
            .header("If-Match", etag)
            .json(&json!({"status": status}))
            .send()
            .await
            .unwrap()
    }

    async fn resume(&self, id: &str) -> reqwest::Response {
        self.set_status(id, "active").await
    }

    /// The event types written for `organisation`, oldest first.
    async fn events(&self, organisation: &str) -> Vec<String> {
        use sesame::schema::domain_events;
        let mut db = self.app.db().await;
        domain_events::table
            .filter(domain_events::organisation_id.eq(organisation.parse::<uuid::Uuid>().unwrap()))
            .order(domain_events::seq)
            .select(domain_events::event_type)
            .load(&mut db)
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn a_farm_is_named_only_once_it_accepts_and_ending_pauses_the_offers() {
    let t = Trade::new().await;
    let problem = assert_problem(t.list_offer().await, 422, "validation-failed").await;
    assert_eq!(error_fields(&problem), ["producer.organisation_id"]);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("supply-relationships")
    );

    let asked = t
        .app
        .post_json(
            &format!(
                "/api/v1/organisations/{}/supply-relationships",
                t.distributor
            ),
            &json!({"farm_id": t.farm, "note": "Pour les écoles de Brétigny"}),
            Some(&t.luc.access),
        )
        .await;
    assert_eq!(asked.status(), 201);
    let relationship: Value = asked.json().await.unwrap();
    let id = relationship["id"].as_str().unwrap().to_owned();
    assert_eq!(relationship["status"], "requested");
    assert_eq!(relationship["farm"]["name"], "Ferme de l'Envol");

    // Asking twice, the distributor consenting for the farm, strangers.
    let twice = t
        .app
        .post_json(
            &format!(
                "/api/v1/organisations/{}/supply-relationships",
                t.distributor
            ),
            &json!({"farm_id": t.farm}),
            Some(&t.luc.access),
        )
        .await;
    assert_problem(twice, 409, "conflict").await;
    assert_problem(t.act(&t.luc, &id, "accept").await, 409, "conflict").await;
    let stranger = t.app.signed_up("curieux@example.fr").await;
    assert_problem(t.act(&stranger, &id, "accept").await, 404, "not-found").await;
    assert_problem(t.act(&t.admin, &id, "accept").await, 403, "forbidden").await;
    assert_problem(t.list_offer().await, 422, "validation-failed").await;

    let accepted = t.act(&t.marie, &id, "accept").await;
    assert_eq!(accepted.status(), 200);
    let offer: Value = {
        let response = t.list_offer().await;
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
        response.json().await.unwrap()
    };
    let offer_id = offer["id"].as_str().unwrap().to_owned();
    assert_eq!(offer["producer"]["organisation_id"], json!(t.farm));

    let list: Value = t
        .app
        .get_as(
            &format!(
                "/api/v1/organisations/{}/supply-relationships?status=accepted",
                t.farm
            ),
            &t.marie.access,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"][0]["id"], json!(id));

    // The farm ends it: the offer is paused at once and cannot come back.
    let ended = t.act(&t.marie, &id, "end").await;
    assert_eq!(ended.status(), 200);
    let (paused, _) = t.offer(&offer_id).await;
    assert_eq!(paused["status"], "paused");
    assert_eq!(paused["version"], offer["version"].as_i64().unwrap() + 1);
    assert_eq!(
        t.app
            .get(&format!("/api/v1/offers/{offer_id}"))
            .await
            .status(),
        404
    );
    assert_problem(t.resume(&offer_id).await, 409, "conflict").await;
    assert_eq!(t.offer(&offer_id).await.0["status"], "paused");
    assert_problem(t.act(&t.marie, &id, "accept").await, 409, "conflict").await;

    assert_eq!(
        t.events(&t.farm).await,
        ["supply.requested", "supply.accepted", "supply.ended"]
    );
    assert_eq!(
        t.events(&t.distributor).await,
        [
            "supply.requested",
            "supply.accepted",
            "offer.paused",
            "supply.ended"
        ]
    );

    // The database holds the rule whatever the code does.
    let mut db = t.app.db().await;
    let forced = db
        .batch_execute(&format!(
            "UPDATE offers SET status = 'active' WHERE id = '{offer_id}'"
        ))
        .await;
    assert!(
        forced.is_err(),
        "the trigger refuses an active offer without consent"
    );
}

#[tokio::test]
async fn suspending_the_farm_or_dropping_a_label_corrects_the_offers_at_once() {
    let t = Trade::new().await;
    t.app
        .carry((&t.luc, &t.distributor), (&t.marie, &t.farm))
        .await;
    let response = t.list_offer().await;
    assert_eq!(response.status(), 201);
    let offer: Value = response.json().await.unwrap();
    let offer_id = offer["id"].as_str().unwrap().to_owned();
    assert_eq!(offer["labels"], json!(["BIO"]));

    // The farm drops BIO: the label leaves the distributor's offer.
    let dropped = t
        .app
        .client
        .put(
            t.app
                .url(&format!("/api/v1/organisations/{}/certifications", t.farm)),
        )
        .bearer_auth(&t.marie.access)
        .json(&json!([{"label": "HVE"}]))
        .send()
        .await
        .unwrap();
    assert_eq!(dropped.status(), 200, "{}", dropped.text().await.unwrap());
    let (corrected, _) = t.offer(&offer_id).await;
    assert_eq!(corrected["labels"], json!([]));
    assert_eq!(corrected["status"], "active");
    assert!(
        t.events(&t.distributor)
            .await
            .contains(&"offer.labels_corrected".to_owned())
    );

    // The platform suspends the farm: the offer is paused.
    let suspended = t
        .app
        .post_json(
            &format!("/api/v1/admin/organisations/{}/status", t.farm),
            &json!({"status": "suspended"}),
            Some(&t.admin.access),
        )
        .await;
    assert_eq!(suspended.status(), 200);
    assert_eq!(t.offer(&offer_id).await.0["status"], "paused");
    assert_problem(t.resume(&offer_id).await, 409, "conflict").await;

    // Verified again, the distributor may resume it.
    t.app.verify(&t.admin, &t.farm).await;
    assert_eq!(t.resume(&offer_id).await.status(), 200);
    assert_eq!(t.offer(&offer_id).await.0["status"], "active");
}

/// A relationship ended while the distributor resumes its offer: whatever
/// the order, an ended relationship never leaves an active offer behind.
#[tokio::test]
async fn ending_and_resuming_at_once_never_leave_an_active_offer_without_consent() {
    let t = Trade::new().await;
    for _ in 0..5 {
        let relationship = t
            .app
            .carry((&t.luc, &t.distributor), (&t.marie, &t.farm))
            .await;
        let response = t.list_offer().await;
        assert_eq!(response.status(), 201);
        let offer: Value = response.json().await.unwrap();
        let offer_id = offer["id"].as_str().unwrap().to_owned();
        // Paused by its supplier, then resumed while the farm ends it.
        assert_eq!(t.set_status(&offer_id, "paused").await.status(), 200);
        let (resumed, ended) =
            join(t.resume(&offer_id), t.act(&t.marie, &relationship, "end")).await;
        assert_eq!(ended.status(), 200);
        assert!(matches!(resumed.status().as_u16(), 200 | 409));
        let mut db = t.app.db().await;
        let active: i64 =
            diesel::dsl::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(&format!(
                "(SELECT count(*) FROM offers WHERE supplier_id = '{}' AND status = 'active')",
                t.distributor
            )))
            .get_result(&mut db)
            .await
            .unwrap();
        assert_eq!(active, 0, "an active offer outlived the farm's consent");
    }
}

#[tokio::test]
async fn only_verified_farms_are_asked_or_named() {
    let t = Trade::new().await;
    let pending_owner = t.app.signed_up("nouvelle@ferme.fr").await;
    let mut pending = farm(SIRETS[1]);
    pending["name"] = json!("Ferme en attente");
    let pending_id = t.app.create_organisation(&pending_owner, pending).await;
    let asked = t
        .app
        .post_json(
            &format!(
                "/api/v1/organisations/{}/supply-relationships",
                t.distributor
            ),
            &json!({"farm_id": pending_id}),
            Some(&t.luc.access),
        )
        .await;
    let problem = assert_problem(asked, 422, "validation-failed").await;
    assert_eq!(error_fields(&problem), ["farm_id"]);
    let mut named = t.carrots();
    named["producer"] = json!({"organisation_id": pending_id});
    named["labels"] = json!([]);
    let response = t
        .app
        .post_json(
            &format!("/api/v1/organisations/{}/offers", t.distributor),
            &named,
            Some(&t.luc.access),
        )
        .await;
    let problem = assert_problem(response, 422, "validation-failed").await;
    assert_eq!(error_fields(&problem), ["producer.organisation_id"]);

    // A farm does not ask to carry another farm.
    let asked = t
        .app
        .post_json(
            &format!("/api/v1/organisations/{}/supply-relationships", t.farm),
            &json!({"farm_id": t.farm}),
            Some(&t.marie.access),
        )
        .await;
    assert_problem(asked, 403, "forbidden").await;
}
