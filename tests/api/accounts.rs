//! Organisations: creation, validation, privacy, the policy (404 across
//! organisations, 403 for the wrong role or kind), mass assignment,
//! verification, the directory, memberships and invitations.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::{Value, json};
use sesame::schema::{memberships, organisations};

use crate::helpers::{SIRETS, TestApp, assert_problem, canteen, error_fields, farm};

#[tokio::test]
async fn creating_a_farm_makes_its_creator_owner_and_derives_its_place() {
    let app = TestApp::spawn().await;
    let marie = app.signed_up("marie@ferme-envol.fr").await;
    let response = app
        .post_json(
            "/api/v1/organisations",
            &farm(SIRETS[0]),
            Some(&marie.access),
        )
        .await;
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let created: Value = response.json().await.unwrap();
    assert_eq!(
        location,
        format!("/api/v1/organisations/{}", created["id"].as_str().unwrap())
    );
    assert_eq!(created["status"], "pending");
    assert_eq!(created["siren"], "200057859");
    assert_eq!(
        created["place"],
        json!({"insee": "91103", "commune": "Brétigny-sur-Orge", "departement": "91", "region": "11", "epci": "200057859"})
    );
    assert_eq!(created["farm"]["certifications"][0]["label"], "BIO");
    assert_eq!(created["farm"]["productions"], json!(["FRUITS_ET_LEGUMES"]));
    assert_eq!(created["contact"]["email"], "contact@ferme-envol.fr");

    let me: Value = app
        .get_as("/api/v1/me", &marie.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["memberships"][0]["organisation_id"], created["id"]);
    assert_eq!(me["memberships"][0]["role"], "owner");

    let canteen_id = app.create_organisation(&marie, canteen(SIRETS[1])).await;
    let view: Value = app
        .get_as(
            &format!("/api/v1/organisations/{canteen_id}"),
            &marie.access,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(view["canteen"]["local_km"], 50);
    assert_eq!(view["canteen"]["sectors"], json!(["education_primaire"]));
}

#[tokio::test]
async fn invalid_sirets_and_unknown_communes_are_422_naming_each_field() {
    let app = TestApp::spawn().await;
    let marie = app.signed_up("marie@ferme-envol.fr").await;
    let mut body = farm("20005785900016");
    body["commune_insee"] = json!("91999");
    body["contact_phone"] = json!("call me maybe");
    body["farm"]["certifications"] = json!([{"label": "BIO"}]);
    let problem = assert_problem(
        app.post_json("/api/v1/organisations", &body, Some(&marie.access))
            .await,
        422,
        "validation-failed",
    )
    .await;
    let fields = error_fields(&problem);
    for field in [
        "siret",
        "commune_insee",
        "contact_phone",
        "farm.certifications[0].certificate_number",
        "farm.certifications[0].certifying_body",
    ] {
        assert!(fields.contains(&field), "{field} missing from {problem}");
    }

    let mut postcode = farm(SIRETS[0]);
    postcode["commune_insee"] = json!("9122");
    let problem = assert_problem(
        app.post_json("/api/v1/organisations", &postcode, Some(&marie.access))
            .await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "commune_insee");

    let mut no_profile = canteen(SIRETS[1]);
    no_profile.as_object_mut().unwrap().remove("canteen");
    let problem = assert_problem(
        app.post_json("/api/v1/organisations", &no_profile, Some(&marie.access))
            .await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "canteen");

    let mut bad_meals = canteen(SIRETS[1]);
    bad_meals["canteen"]["yearly_meal_count"] = json!(300);
    bad_meals["canteen"]["sectors"] = json!([
        "education_primaire",
        "sante_hopital",
        "social_ehpad",
        "loisir_autre"
    ]);
    let problem = assert_problem(
        app.post_json("/api/v1/organisations", &bad_meals, Some(&marie.access))
            .await,
        422,
        "validation-failed",
    )
    .await;
    let fields = error_fields(&problem);
    assert_eq!(fields, ["canteen.sectors", "canteen.yearly_meal_count"]);

    let mut unknown_sector = canteen(SIRETS[1]);
    unknown_sector["canteen"]["sectors"] = json!(["cantine_scolaire"]);
    let problem = assert_problem(
        app.post_json(
            "/api/v1/organisations",
            &unknown_sector,
            Some(&marie.access),
        )
        .await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "canteen.sectors[0]");

    let mut conn = app.db().await;
    let count: i64 = organisations::table
        .count()
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(count, 0);

    // A SIRET registered twice: both stay pending, neither learns of the
    // other; the administrator who verifies sees the clash.
    let admin = app.admin().await;
    let first = app.create_organisation(&marie, farm(SIRETS[0])).await;
    let impostor = app.signed_up("eve@ailleurs.fr").await;
    let second = app.create_organisation(&impostor, farm(SIRETS[0])).await;
    app.verify(&admin, &first).await;
    let clash = app
        .post_json(
            &format!("/api/v1/admin/organisations/{second}/status"),
            &json!({"status": "verified"}),
            Some(&admin.access),
        )
        .await;
    assert_problem(clash, 409, "conflict").await;
    assert_problem(
        app.post_json("/api/v1/organisations", &farm(SIRETS[2]), None)
            .await,
        401,
        "unauthorized",
    )
    .await;
}

#[tokio::test]
async fn nobody_can_set_status_or_kind_through_a_request() {
    let app = TestApp::spawn().await;
    let marie = app.signed_up("marie@ferme-envol.fr").await;
    let mut verified_at_birth = farm(SIRETS[0]);
    verified_at_birth["status"] = json!("verified");
    let problem = assert_problem(
        app.post_json(
            "/api/v1/organisations",
            &verified_at_birth,
            Some(&marie.access),
        )
        .await,
        422,
        "validation-failed",
    )
    .await;
    assert!(
        problem["detail"].as_str().unwrap().contains("status"),
        "{problem}"
    );

    let id = app.create_organisation(&marie, farm(SIRETS[0])).await;
    for attempt in [
        json!({"status": "verified"}),
        json!({"kind": "authority"}),
        json!({"siret": SIRETS[2]}),
        json!({"id": "x", "name": "Renamed"}),
    ] {
        let response = app
            .patch_json(
                &format!("/api/v1/organisations/{id}"),
                &attempt,
                &marie.access,
            )
            .await;
        assert_problem(response, 422, "validation-failed").await;
    }
    let mut conn = app.db().await;
    let (status, kind, name): (String, String, String) = organisations::table
        .select((
            organisations::status,
            organisations::kind,
            organisations::name,
        ))
        .first(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        (status.as_str(), kind.as_str(), name.as_str()),
        ("pending", "farm", "Ferme de l'Envol")
    );

    let renamed = app
        .patch_json(
            &format!("/api/v1/organisations/{id}"),
            &json!({"name": "Ferme de l'Envol (Sésame)"}),
            &marie.access,
        )
        .await;
    assert_eq!(renamed.status(), 200);
    let name: String = organisations::table
        .select(organisations::name)
        .first(&mut conn)
        .await
        .unwrap();
    assert_eq!(name, "Ferme de l'Envol (Sésame)");
}

#[tokio::test]
async fn other_organisations_private_objects_are_404() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let marie = app.signed_up("marie@ferme-envol.fr").await;
    let paul = app.signed_up("paul@cantine.fr").await;
    let farm_id = app.create_organisation(&marie, farm(SIRETS[0])).await;
    let canteen_id = app.create_organisation(&paul, canteen(SIRETS[1])).await;
    let farm_url = format!("/api/v1/organisations/{farm_id}");

    // Pending: invisible to strangers, anonymous or not.
    assert_problem(app.get_as(&farm_url, &paul.access).await, 404, "not-found").await;
    assert_problem(app.get(&farm_url).await, 404, "not-found").await;

    app.verify(&admin, &farm_id).await;
    // Verified: the public profile, never the contacts.
    let public: Value = app
        .get_as(&farm_url, &paul.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(public["name"], "Ferme de l'Envol");
    assert!(public.get("contact").is_none(), "{public}");
    let anonymous: Value = app.get(&farm_url).await.json().await.unwrap();
    assert!(anonymous.get("contact").is_none());
    let own: Value = app
        .get_as(&farm_url, &marie.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(own["contact"]["phone"], "+33 1 60 00 00 00");

    // Writes and private reads across organisations: 404, and nothing changes.
    let patch = app
        .patch_json(
            &farm_url,
            &json!({"description": "taken over"}),
            &paul.access,
        )
        .await;
    assert_problem(patch, 404, "not-found").await;
    assert_problem(
        app.get_as(&format!("{farm_url}/members"), &paul.access)
            .await,
        404,
        "not-found",
    )
    .await;
    let invite = app
        .post_json(
            &format!("{farm_url}/invitations"),
            &json!({"email": "paul@cantine.fr", "role": "owner"}),
            Some(&paul.access),
        )
        .await;
    assert_problem(invite, 404, "not-found").await;
    let certifications = app
        .client
        .put(app.url(&format!("{farm_url}/certifications")))
        .bearer_auth(&paul.access)
        .json(&json!([]))
        .send()
        .await
        .unwrap();
    assert_problem(certifications, 404, "not-found").await;
    let mut conn = app.db().await;
    let description: String = organisations::table
        .find(uuid::Uuid::parse_str(&farm_id).unwrap())
        .select(organisations::description)
        .first(&mut conn)
        .await
        .unwrap();
    assert_eq!(description, "Maraîchage biologique");

    assert_problem(
        app.get_as(
            &format!("/api/v1/organisations/{canteen_id}"),
            &marie.access,
        )
        .await,
        404,
        "not-found",
    )
    .await;
    assert_problem(
        app.get_as(
            &format!("/api/v1/organisations/{}", uuid::Uuid::now_v7()),
            &marie.access,
        )
        .await,
        404,
        "not-found",
    )
    .await;
    assert_problem(
        app.get_as("/api/v1/organisations/not-a-uuid", &marie.access)
            .await,
        404,
        "not-found",
    )
    .await;
}

#[tokio::test]
async fn a_canteen_calling_a_farm_only_action_gets_403() {
    let app = TestApp::spawn().await;
    let paul = app.signed_up("paul@cantine.fr").await;
    let canteen_id = app.create_organisation(&paul, canteen(SIRETS[1])).await;
    let response = app
        .client
        .put(app.url(&format!(
            "/api/v1/organisations/{canteen_id}/certifications"
        )))
        .bearer_auth(&paul.access)
        .json(&json!([{"label": "HVE"}]))
        .send()
        .await
        .unwrap();
    assert_problem(response, 403, "forbidden").await;

    // And a farm profile field on a canteen is refused by name.
    let response = app
        .patch_json(
            &format!("/api/v1/organisations/{canteen_id}"),
            &json!({"productions": ["BOISSONS"]}),
            &paul.access,
        )
        .await;
    let problem = assert_problem(response, 422, "validation-failed").await;
    assert_eq!(problem["errors"][0]["field"], "productions");
}

#[tokio::test]
async fn only_administrators_verify_and_only_verified_organisations_are_listed() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let marie = app.signed_up("marie@ferme-envol.fr").await;
    let farm_id = app.create_organisation(&marie, farm(SIRETS[0])).await;
    let mut conventional = farm(SIRETS[2]);
    conventional["name"] = json!("Ferme du Plateau");
    conventional["commune_insee"] = json!("45234");
    conventional["farm"]["certifications"] = json!([{"label": "HVE"}]);
    let other_id = app.create_organisation(&marie, conventional).await;

    let self_verify = app
        .post_json(
            &format!("/api/v1/admin/organisations/{farm_id}/status"),
            &json!({"status": "verified"}),
            Some(&marie.access),
        )
        .await;
    assert_problem(self_verify, 403, "forbidden").await;
    let listed: Value = app
        .get("/api/v1/organisations?kind=farm")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        listed["items"],
        json!([]),
        "pending organisations are not public"
    );
    assert_eq!(listed["next_cursor"], Value::Null);

    app.verify(&admin, &farm_id).await;
    app.verify(&admin, &other_id).await;
    let all: Value = app
        .get("/api/v1/organisations?kind=farm")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
    let first: Value = app
        .get("/api/v1/organisations?kind=farm&limit=1")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first["items"][0], all["items"][0], "by name");
    let cursor = first["next_cursor"].as_str().unwrap();
    assert_eq!(cursor, first["items"][0]["id"].as_str().unwrap());
    let second: Value = app
        .get(&format!(
            "/api/v1/organisations?kind=farm&limit=1&cursor={cursor}"
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(second["items"][0], all["items"][1]);
    assert_eq!(second["next_cursor"], Value::Null, "the last page");
    assert_problem(
        app.get(&format!(
            "/api/v1/organisations?cursor={}",
            uuid::Uuid::now_v7()
        ))
        .await,
        400,
        "invalid-parameter",
    )
    .await;
    assert!(
        all["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o.get("contact").is_none())
    );
    let bio: Value = app
        .get("/api/v1/organisations?kind=farm&label=BIO")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(bio["items"].as_array().unwrap().len(), 1);
    assert_eq!(bio["items"][0]["id"], farm_id.as_str());
    let local: Value = app
        .get("/api/v1/organisations?epci=200057859")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(local["items"].as_array().unwrap().len(), 1);
    let loiret: Value = app
        .get("/api/v1/organisations?departement=45")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(loiret["items"][0]["name"], "Ferme du Plateau");
    let none: Value = app
        .get("/api/v1/organisations?kind=canteen")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(none["items"], json!([]));
    assert_problem(
        app.get("/api/v1/organisations?label=ORGANIC").await,
        400,
        "invalid-parameter",
    )
    .await;

    let suspend = app
        .post_json(
            &format!("/api/v1/admin/organisations/{other_id}/status"),
            &json!({"status": "suspended"}),
            Some(&admin.access),
        )
        .await;
    assert_eq!(
        suspend.json::<Value>().await.unwrap()["status"],
        "suspended"
    );
    let after: Value = app
        .get("/api/v1/organisations?kind=farm")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(after["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn invitations_roles_and_the_last_owner() {
    let app = TestApp::spawn().await;
    let marie = app.signed_up("marie@ferme-envol.fr").await;
    let paul = app.signed_up("paul@ferme-envol.fr").await;
    let eve = app.signed_up("eve@ailleurs.fr").await;
    let id = app.create_organisation(&marie, farm(SIRETS[0])).await;
    let base = format!("/api/v1/organisations/{id}");

    let invited = app
        .post_json(
            &format!("{base}/invitations"),
            &json!({"email": "Paul@Ferme-Envol.fr", "role": "member"}),
            Some(&marie.access),
        )
        .await;
    assert_eq!(invited.status(), 201);
    let invitation: Value = invited.json().await.unwrap();
    let token = json!({"token": invitation["token"]});

    // Only the invited email can accept, and only once.
    assert_problem(
        app.post_json("/api/v1/invitations/accept", &token, Some(&eve.access))
            .await,
        404,
        "not-found",
    )
    .await;
    let joined = app
        .post_json("/api/v1/invitations/accept", &token, Some(&paul.access))
        .await;
    assert_eq!(joined.status(), 200);
    assert_eq!(joined.json::<Value>().await.unwrap()["role"], "member");
    assert_problem(
        app.post_json("/api/v1/invitations/accept", &token, Some(&paul.access))
            .await,
        404,
        "not-found",
    )
    .await;

    // A member reads but does not administer.
    let members: Value = app
        .get_as(&format!("{base}/members"), &paul.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(members.as_array().unwrap().len(), 2);
    assert_problem(
        app.patch_json(&base, &json!({"name": "Mine now"}), &paul.access)
            .await,
        403,
        "forbidden",
    )
    .await;
    let promote_self = app
        .patch_json(
            &format!("{base}/members/{}", paul.user_id),
            &json!({"role": "owner"}),
            &paul.access,
        )
        .await;
    assert_problem(promote_self, 403, "forbidden").await;

    // The last owner can neither leave nor be demoted.
    let leave = app
        .client
        .delete(app.url(&format!("{base}/members/{}", marie.user_id)))
        .bearer_auth(&marie.access)
        .send()
        .await
        .unwrap();
    assert_problem(leave, 409, "conflict").await;
    let demote = app
        .patch_json(
            &format!("{base}/members/{}", marie.user_id),
            &json!({"role": "member"}),
            &marie.access,
        )
        .await;
    assert_problem(demote, 409, "conflict").await;

    let promote = app
        .patch_json(
            &format!("{base}/members/{}", paul.user_id),
            &json!({"role": "owner"}),
            &marie.access,
        )
        .await;
    assert_eq!(promote.status(), 200);
    let leave = app
        .client
        .delete(app.url(&format!("{base}/members/{}", marie.user_id)))
        .bearer_auth(&marie.access)
        .send()
        .await
        .unwrap();
    assert_eq!(leave.status(), 204);

    let mut conn = app.db().await;
    let roles: Vec<String> = memberships::table
        .select(memberships::role)
        .load(&mut conn)
        .await
        .unwrap();
    assert_eq!(roles, ["owner"]);
    assert_problem(app.get_as(&base, &marie.access).await, 404, "not-found").await;
}

#[tokio::test]
async fn certifications_are_the_owners_word_and_suspension_freezes_writes() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let marie = app.signed_up("marie@ferme-envol.fr").await;
    let paul = app.signed_up("paul@ferme-envol.fr").await;
    let id = app.create_organisation(&marie, farm(SIRETS[0])).await;
    let base = format!("/api/v1/organisations/{id}");
    let invitation: Value = app
        .post_json(
            &format!("{base}/invitations"),
            &json!({"email": "paul@ferme-envol.fr", "role": "member"}),
            Some(&marie.access),
        )
        .await
        .json()
        .await
        .unwrap();
    let accepted = app
        .post_json(
            "/api/v1/invitations/accept",
            &json!({"token": invitation["token"]}),
            Some(&paul.access),
        )
        .await;
    assert_eq!(accepted.status(), 200);

    let put = |token: String, body: Value| {
        let app = &app;
        let url = app.url(&format!("{base}/certifications"));
        async move {
            app.client
                .put(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    assert_problem(
        put(paul.access.clone(), json!([{"label": "HVE"}])).await,
        403,
        "forbidden",
    )
    .await;
    let replaced = put(
        marie.access.clone(),
        json!([{"label": "HVE"}, {"label": "FERMIER"}]),
    )
    .await;
    assert_eq!(replaced.status(), 200);
    let labels: Vec<String> = replaced
        .json::<Vec<Value>>()
        .await
        .unwrap()
        .iter()
        .map(|c| c["label"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(labels, ["FERMIER", "HVE"]);

    let suspend = app
        .post_json(
            &format!("/api/v1/admin/organisations/{id}/status"),
            &json!({"status": "suspended"}),
            Some(&admin.access),
        )
        .await;
    assert_eq!(suspend.status(), 200);
    assert_problem(
        app.patch_json(
            &base,
            &json!({"description": "still selling"}),
            &marie.access,
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    assert_eq!(
        app.get_as(&base, &marie.access).await.status(),
        200,
        "members still read"
    );
}

#[tokio::test]
async fn an_invitation_dies_with_its_authors_ownership() {
    let app = TestApp::spawn().await;
    let marie = app.signed_up("marie@ferme-envol.fr").await;
    let paul = app.signed_up("paul@ferme-envol.fr").await;
    let spare = app.signed_up("spare@ferme-envol.fr").await;
    let id = app.create_organisation(&marie, farm(SIRETS[0])).await;
    let base = format!("/api/v1/organisations/{id}");
    let invite = |email: &str, role: &str| json!({"email": email, "role": role});
    let for_paul: Value = app
        .post_json(
            &format!("{base}/invitations"),
            &invite("paul@ferme-envol.fr", "owner"),
            Some(&marie.access),
        )
        .await
        .json()
        .await
        .unwrap();
    app.post_json(
        "/api/v1/invitations/accept",
        &json!({"token": for_paul["token"]}),
        Some(&paul.access),
    )
    .await;
    // Paul, owner now, prepares a way back for a second account, then is demoted.
    let backdoor: Value = app
        .post_json(
            &format!("{base}/invitations"),
            &invite("spare@ferme-envol.fr", "owner"),
            Some(&paul.access),
        )
        .await
        .json()
        .await
        .unwrap();
    let demoted = app
        .patch_json(
            &format!("{base}/members/{}", paul.user_id),
            &json!({"role": "member"}),
            &marie.access,
        )
        .await;
    assert_eq!(demoted.status(), 200);
    let accept = app
        .post_json(
            "/api/v1/invitations/accept",
            &json!({"token": backdoor["token"]}),
            Some(&spare.access),
        )
        .await;
    assert_problem(accept, 404, "not-found").await;
    let mut conn = app.db().await;
    let count: i64 = memberships::table
        .count()
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(count, 2);
}

/// Administrators act as owners, so their invitations are good while they
/// are administrators: the invited user joins with the role offered.
#[tokio::test]
async fn an_administrators_invitation_can_be_accepted() {
    use sesame::schema::users;
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let marie = app.signed_up("marie@ferme-envol.fr").await;
    let paul = app.signed_up("paul@ferme-envol.fr").await;
    let lea = app.signed_up("lea@ferme-envol.fr").await;
    let id = app.create_organisation(&marie, farm(SIRETS[0])).await;
    let invitations = format!("/api/v1/organisations/{id}/invitations");
    let mut tokens = Vec::new();
    for email in ["paul@ferme-envol.fr", "lea@ferme-envol.fr"] {
        let body = json!({"email": email, "role": "member"});
        let invited = app
            .post_json(&invitations, &body, Some(&admin.access))
            .await;
        assert_eq!(invited.status(), 201);
        tokens.push(invited.json::<Value>().await.unwrap()["token"].clone());
    }
    let (for_paul, for_lea) = (json!({"token": tokens[0]}), json!({"token": tokens[1]}));

    let accepted = app
        .post_json("/api/v1/invitations/accept", &for_paul, Some(&paul.access))
        .await;
    assert_eq!(accepted.status(), 200);
    let joined: Value = accepted.json().await.unwrap();
    assert_eq!(joined["organisation_id"], id.as_str());
    assert_eq!(joined["role"], "member");
    let me: Value = app
        .get_as("/api/v1/me", &paul.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["memberships"][0]["organisation_id"], id.as_str());
    assert_eq!(me["memberships"][0]["role"], "member");

    // Once no longer an administrator, their open invitations die.
    let mut conn = app.db().await;
    diesel::update(users::table.filter(users::email.eq("admin@sesame.example")))
        .set(users::is_admin.eq(false))
        .execute(&mut conn)
        .await
        .unwrap();
    let refused = app
        .post_json("/api/v1/invitations/accept", &for_lea, Some(&lea.access))
        .await;
    assert_problem(refused, 404, "not-found").await;
    let members: Vec<(uuid::Uuid, String)> = memberships::table
        .filter(memberships::organisation_id.eq(uuid::Uuid::parse_str(&id).unwrap()))
        .select((memberships::user_id, memberships::role))
        .order(memberships::role)
        .load(&mut conn)
        .await
        .unwrap();
    let paul_id = uuid::Uuid::parse_str(&paul.user_id).unwrap();
    let marie_id = uuid::Uuid::parse_str(&marie.user_id).unwrap();
    assert_eq!(
        members,
        [
            (paul_id, "member".to_owned()),
            (marie_id, "owner".to_owned())
        ]
    );
}

#[tokio::test]
async fn nul_characters_are_refused_not_crashed_on() {
    let app = TestApp::spawn().await;
    let marie = app.signed_up("marie@ferme-envol.fr").await;
    let mut body = farm(SIRETS[0]);
    body["name"] = json!("Ferme\u{0}");
    assert_problem(
        app.post_json("/api/v1/organisations", &body, Some(&marie.access))
            .await,
        422,
        "validation-failed",
    )
    .await;
    let login = json!({"email": "marie\u{0}@ferme-envol.fr", "password": "whatever it is"});
    assert_problem(
        app.post_json("/api/v1/auth/login", &login, None).await,
        422,
        "validation-failed",
    )
    .await;
    let problem = assert_problem(
        app.get("/api/v1/organisations?commune=%00").await,
        400,
        "invalid-parameter",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "commune");
    assert_problem(app.get("/api/v1/communes/%00").await, 404, "not-found").await;
    assert_problem(
        app.get("/api/v1/communes?q=a%00").await,
        400,
        "invalid-parameter",
    )
    .await;
}
