//! Accounts and sessions: registration, login, refresh rotation, logout,
//! password change, token checks and login throttling.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::{Value, json};
use sesame::schema::{sessions, users};

use crate::helpers::{PASSWORD, TEST_JWT_SECRET, TestApp, assert_problem};

#[tokio::test]
async fn register_normalises_the_email_and_refuses_duplicates_and_weak_passwords() {
    let app = TestApp::spawn().await;
    let body = json!({"email": "  Marie.Dupont@Ferme-Envol.FR ", "password": PASSWORD, "display_name": " Marie "});
    let response = app.post_json("/api/v1/auth/register", &body, None).await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["location"], "/api/v1/me");
    let user: Value = response.json().await.unwrap();
    assert_eq!(user["email"], "marie.dupont@ferme-envol.fr");
    assert_eq!(user["display_name"], "Marie");
    assert_eq!(user["is_admin"], false);
    assert!(user.get("password_hash").is_none());

    let mut conn = app.db().await;
    let stored: (String, String) = users::table
        .select((users::email, users::password_hash))
        .first(&mut conn)
        .await
        .unwrap();
    assert_eq!(stored.0, "marie.dupont@ferme-envol.fr");
    assert!(stored.1.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));

    let again =
        json!({"email": "marie.dupont@ferme-envol.fr", "password": PASSWORD, "display_name": "M"});
    assert_problem(
        app.post_json("/api/v1/auth/register", &again, None).await,
        409,
        "conflict",
    )
    .await;

    for (password, why) in [
        ("short pass", "at least 12"),
        ("password1234", "easy to guess"),
        (&"p".repeat(129)[..], "at most 128"),
    ] {
        let weak = json!({"email": "paul@ferme.fr", "password": password, "display_name": "Paul"});
        let problem = assert_problem(
            app.post_json("/api/v1/auth/register", &weak, None).await,
            422,
            "validation-failed",
        )
        .await;
        assert_eq!(problem["errors"][0]["field"], "password");
        assert!(
            problem["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains(why),
            "{problem}"
        );
    }
    let bad_email = json!({"email": "paul", "password": PASSWORD, "display_name": "Paul"});
    let problem = assert_problem(
        app.post_json("/api/v1/auth/register", &bad_email, None)
            .await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "email");
    let count: i64 = users::table.count().get_result(&mut conn).await.unwrap();
    assert_eq!(count, 1, "nothing was created by the refused registrations");
}

#[tokio::test]
async fn login_gives_tokens_that_open_me() {
    let app = TestApp::spawn().await;
    let session = app.signed_up("marie@ferme-envol.fr").await;
    let tokens: Value = app
        .login("MARIE@ferme-envol.fr", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 900);

    let me: Value = app
        .get_as("/api/v1/me", &session.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["user"]["email"], "marie@ferme-envol.fr");
    assert_eq!(me["memberships"], json!([]));

    let anonymous = app.get("/api/v1/me").await;
    assert_eq!(anonymous.headers()["www-authenticate"], "Bearer");
    assert_problem(anonymous, 401, "unauthorized").await;
}

#[tokio::test]
async fn a_reused_refresh_token_revokes_its_whole_family() {
    let app = TestApp::spawn().await;
    let session = app.signed_up("marie@ferme-envol.fr").await;
    let refresh = |token: String| {
        let app = &app;
        async move {
            app.post_json(
                "/api/v1/auth/refresh",
                &json!({"refresh_token": token}),
                None,
            )
            .await
        }
    };

    let first = refresh(session.refresh.clone()).await;
    assert_eq!(first.status(), 200);
    let rotated: Value = first.json().await.unwrap();
    let new_refresh = rotated["refresh_token"].as_str().unwrap().to_owned();
    let new_access = rotated["access_token"].as_str().unwrap().to_owned();
    assert_ne!(new_refresh, session.refresh);
    assert_eq!(app.get_as("/api/v1/me", &new_access).await.status(), 200);

    // The old token again: a thief's replay. The whole session ends.
    assert_problem(refresh(session.refresh.clone()).await, 401, "unauthorized").await;
    assert_problem(refresh(new_refresh).await, 401, "unauthorized").await;
    assert_problem(
        app.get_as("/api/v1/me", &new_access).await,
        401,
        "unauthorized",
    )
    .await;
    assert_problem(
        app.get_as("/api/v1/me", &session.access).await,
        401,
        "unauthorized",
    )
    .await;

    let mut conn = app.db().await;
    let open: i64 = sessions::table
        .filter(sessions::revoked_at.is_null())
        .count()
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(open, 0);

    // Logging in again works: a new family.
    assert_eq!(
        app.login("marie@ferme-envol.fr", PASSWORD).await.status(),
        200
    );
    assert_problem(refresh("not-a-token".into()).await, 401, "unauthorized").await;
}

#[tokio::test]
async fn logout_refuses_the_sessions_tokens_and_only_them() {
    let app = TestApp::spawn().await;
    let session = app.signed_up("marie@ferme-envol.fr").await;
    let other: Value = app
        .login("marie@ferme-envol.fr", PASSWORD)
        .await
        .json()
        .await
        .unwrap();

    let out = app
        .post_json("/api/v1/auth/logout", &json!({}), Some(&session.access))
        .await;
    assert_eq!(out.status(), 204);
    assert_problem(
        app.get_as("/api/v1/me", &session.access).await,
        401,
        "unauthorized",
    )
    .await;
    let refresh = json!({"refresh_token": session.refresh});
    assert_problem(
        app.post_json("/api/v1/auth/refresh", &refresh, None).await,
        401,
        "unauthorized",
    )
    .await;
    // The other device stays logged in.
    assert_eq!(
        app.get_as("/api/v1/me", other["access_token"].as_str().unwrap())
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn changing_the_password_closes_the_other_sessions() {
    let app = TestApp::spawn().await;
    let session = app.signed_up("marie@ferme-envol.fr").await;
    let other: Value = app
        .login("marie@ferme-envol.fr", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let new_password = "un potager partagé sur la base aérienne";

    let wrong = json!({"current_password": "not my password at all", "new_password": new_password});
    assert_problem(
        app.post_json("/api/v1/auth/password", &wrong, Some(&session.access))
            .await,
        403,
        "forbidden",
    )
    .await;
    let weak = json!({"current_password": PASSWORD, "new_password": "password1234"});
    assert_problem(
        app.post_json("/api/v1/auth/password", &weak, Some(&session.access))
            .await,
        422,
        "validation-failed",
    )
    .await;

    let change = json!({"current_password": PASSWORD, "new_password": new_password});
    assert_eq!(
        app.post_json("/api/v1/auth/password", &change, Some(&session.access))
            .await
            .status(),
        204
    );
    assert_eq!(
        app.get_as("/api/v1/me", &session.access).await.status(),
        200,
        "this session goes on"
    );
    assert_problem(
        app.get_as("/api/v1/me", other["access_token"].as_str().unwrap())
            .await,
        401,
        "unauthorized",
    )
    .await;
    assert_problem(
        app.login("marie@ferme-envol.fr", PASSWORD).await,
        401,
        "unauthorized",
    )
    .await;
    assert_eq!(
        app.login("marie@ferme-envol.fr", new_password)
            .await
            .status(),
        200
    );
}

fn forge(header: Value, claims: Value, secret: &[u8]) -> String {
    let header = jsonwebtoken::Header {
        alg: serde_json::from_value(header["alg"].clone()).unwrap(),
        ..Default::default()
    };
    let key = jsonwebtoken::EncodingKey::from_secret(secret).unwrap();
    jsonwebtoken::encode(&header, &claims, &key).unwrap()
}

#[tokio::test]
async fn forged_expired_and_misdirected_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let session = app.signed_up("marie@ferme-envol.fr").await;
    let claims: Value = {
        let payload = session.access.split('.').nth(1).unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
    };
    let with = |changes: Value| {
        let mut c = claims.clone();
        for (k, v) in changes.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    };
    let hs256 = json!({"alg": "HS256"});
    let secret = TEST_JWT_SECRET.as_bytes();
    let now = chrono::Utc::now().timestamp();

    // Sanity: a token made like the service makes them is accepted.
    let genuine = forge(hs256.clone(), claims.clone(), secret);
    assert_eq!(app.get_as("/api/v1/me", &genuine).await.status(), 200);

    let mut tampered = session.access.clone();
    let signature_start = tampered.rfind('.').unwrap() + 1;
    tampered.replace_range(signature_start..signature_start + 2, "AA");
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap())
    );
    let refused = [
        ("tampered signature", tampered),
        ("alg none", unsigned),
        (
            "other secret",
            forge(
                hs256.clone(),
                claims.clone(),
                b"an attacker's secret of 32 bytes!!",
            ),
        ),
        (
            "expired",
            forge(
                hs256.clone(),
                with(json!({"iat": now - 3600, "exp": now - 60})),
                secret,
            ),
        ),
        (
            "wrong audience",
            forge(hs256.clone(), with(json!({"aud": "another-api"})), secret),
        ),
        (
            "wrong issuer",
            forge(hs256.clone(), with(json!({"iss": "someone"})), secret),
        ),
        (
            "refresh type",
            forge(hs256.clone(), with(json!({"typ": "refresh"})), secret),
        ),
        (
            "HS512",
            forge(json!({"alg": "HS512"}), claims.clone(), secret),
        ),
        ("garbage", "not.a.token".to_owned()),
    ];
    for (what, token) in refused {
        let response = app.get_as("/api/v1/me", &token).await;
        assert_eq!(response.status(), 401, "{what}");
        assert_problem(response, 401, "unauthorized").await;
    }
    let no_scheme = app
        .client
        .get(app.url("/api/v1/me"))
        .header("Authorization", session.access.clone())
        .send()
        .await
        .unwrap();
    assert_problem(no_scheme, 401, "unauthorized").await;
}

/// Tokens signed with the real secret whose times no token of ours has:
/// not yet valid, issued in the future, or living longer than 15 minutes.
#[tokio::test]
async fn forged_time_claims_are_refused() {
    let app = TestApp::spawn().await;
    let session = app.signed_up("marie@ferme-envol.fr").await;
    let claims: Value = {
        let payload = session.access.split('.').nth(1).unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
    };
    let now = chrono::Utc::now().timestamp();
    let ttl = sesame::auth::token::ACCESS_TTL_SECONDS;
    let token = |changes: Value| {
        let mut c = claims.clone();
        for (k, v) in changes.as_object().unwrap() {
            c[k] = v.clone();
        }
        forge(json!({"alg": "HS256"}), c, TEST_JWT_SECRET.as_bytes())
    };

    for (what, changes) in [
        ("nbf in a minute", json!({"nbf": now + 60})),
        (
            "iat in a minute",
            json!({"iat": now + 60, "exp": now + 60 + ttl}),
        ),
        (
            "exp in ten years",
            json!({"iat": now, "exp": now + 10 * 365 * 86_400}),
        ),
        (
            "one second longer than an access token",
            json!({"iat": now, "exp": now + ttl + 1}),
        ),
        (
            "issued an hour ago, still valid for a minute",
            json!({"iat": now - 3600, "exp": now + 60}),
        ),
    ] {
        let response = app.get_as("/api/v1/me", &token(changes)).await;
        let problem = assert_problem(response, 401, "unauthorized").await;
        assert_eq!(
            problem["detail"], "the access token is invalid or expired",
            "{what}"
        );
    }

    for (what, changes) in [
        ("nbf a minute ago", json!({"nbf": now - 60})),
        (
            "iat within the clock-skew leeway",
            json!({"iat": now + 3, "exp": now + 3 + ttl}),
        ),
        ("the full lifetime", json!({"iat": now, "exp": now + ttl})),
    ] {
        let response = app.get_as("/api/v1/me", &token(changes)).await;
        assert_eq!(response.status(), 200, "{what}");
        let me: Value = response.json().await.unwrap();
        assert_eq!(me["user"]["id"], session.user_id.as_str(), "{what}");
    }
}

#[tokio::test]
async fn wrong_passwords_are_throttled_without_locking_the_user_out() {
    let app = TestApp::spawn().await;
    app.signed_up("marie@ferme-envol.fr").await;
    let mut statuses = Vec::new();
    for _ in 0..30 {
        let response = app
            .login("marie@ferme-envol.fr", "not the password, sorry")
            .await;
        if response.status() == 429 {
            let retry_after: u64 = response.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=900).contains(&retry_after));
        }
        statuses.push(response.status().as_u16());
    }
    assert!(statuses[..5].iter().all(|s| *s == 401), "{statuses:?}");
    assert!(statuses[5..].iter().all(|s| *s == 429), "{statuses:?}");
    assert_problem(
        app.login("marie@ferme-envol.fr", PASSWORD).await,
        429,
        "too-many-requests",
    )
    .await;

    // The same account from another address still logs in.
    let elsewhere = reqwest::Client::builder()
        .local_address("127.0.0.2".parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap();
    let response = elsewhere
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": "marie@ferme-envol.fr", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn unknown_emails_get_the_same_answer_as_wrong_passwords() {
    let app = TestApp::spawn().await;
    app.signed_up("marie@ferme-envol.fr").await;
    let wrong = app
        .login("marie@ferme-envol.fr", "not the password, sorry")
        .await;
    let unknown = app
        .login("nobody@ferme-envol.fr", "not the password, sorry")
        .await;
    assert_eq!(wrong.status(), unknown.status());
    let (wrong, unknown): (Value, Value) =
        (wrong.json().await.unwrap(), unknown.json().await.unwrap());
    assert_eq!(wrong, unknown);
}

/// Look-alike addresses: a composed and a decomposed `É`, fullwidth letters
/// and case are one account; an invisible character is refused.
#[tokio::test]
async fn look_alike_emails_are_one_account_and_invisible_characters_are_refused() {
    let app = TestApp::spawn().await;
    app.signed_up("\u{c9}lodie@cantine.example").await;
    let register = |email: &str| {
        let body = json!({"email": email, "password": PASSWORD, "display_name": "Élodie"});
        let app = &app;
        async move { app.post_json("/api/v1/auth/register", &body, None).await }
    };
    for look_alike in [
        "E\u{301}lodie@cantine.example",
        "\u{e9}LODIE@CANTINE.EXAMPLE",
        "\u{c9}\u{ff4c}\u{ff4f}\u{ff44}\u{ff49}\u{ff45}@cantine.example",
    ] {
        assert_problem(register(look_alike).await, 409, "conflict").await;
        let login = app.login(look_alike, PASSWORD).await;
        assert_eq!(
            login.status(),
            200,
            "{look_alike:?} logs into the same account"
        );
    }
    for hidden in ["\u{200b}", "\u{200d}", "\u{feff}", "\u{2060}"] {
        let email = format!("el{hidden}odie@cantine.example");
        let problem = assert_problem(register(&email).await, 422, "validation-failed").await;
        assert_eq!(problem["errors"][0]["field"], "email", "{hidden:?}");
    }
    let mut db = app.db().await;
    let stored: Vec<String> = users::table
        .select(users::email)
        .load(&mut db)
        .await
        .unwrap();
    assert_eq!(
        stored,
        ["\u{e9}lodie@cantine.example"],
        "one account, stored composed"
    );
}

/// A client of the test app from another loopback address.
fn client_from(address: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(address.parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap()
}

/// Behind one address (a town hall): buyers log in, each with at most one
/// mistake, some of them for the first time from there, while a script from
/// the same address sprays wrong passwords over many accounts and hammers
/// one buyer. The script gets 429; the hammered buyer, known at this
/// address, waits at most a minute; the others never see a 429.
#[tokio::test]
async fn a_script_behind_a_shared_address_locks_no_one_else_out() {
    let app = TestApp::spawn().await;
    let town_hall = client_from("127.0.0.4");
    let login = |email: String, password: &'static str| {
        let request = town_hall
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"email": email, "password": password}));
        async move { request.send().await.unwrap() }
    };
    let buyers: Vec<String> = (0..12)
        .map(|i| format!("acheteur{i}@mairie.example"))
        .collect();
    for (i, email) in buyers.iter().enumerate() {
        let body = json!({"email": email, "password": PASSWORD, "display_name": "Acheteur"});
        let registered = app.post_json("/api/v1/auth/register", &body, None).await;
        assert_eq!(registered.status(), 201);
        // Half of them have logged in from the town hall before.
        if i < 6 {
            assert_eq!(login(email.clone(), PASSWORD).await.status(), 200);
        }
    }

    let wrong = "pas le bon mot de passe";
    let script = async {
        let mut statuses = Vec::new();
        for round in 0..3 {
            let mut this_round = Vec::new();
            for i in 0..30 {
                let email = if i % 3 == 0 {
                    format!("inconnu{i}@mairie.example")
                } else {
                    format!("agent{i}@mairie.example")
                };
                this_round.push(login(email, wrong).await.status().as_u16());
            }
            statuses.push((round, this_round));
        }
        let mut hammered = Vec::new();
        for _ in 0..10 {
            let response = login(buyers[0].clone(), wrong).await;
            let retry_after = response
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().parse::<u64>().unwrap());
            hammered.push((response.status().as_u16(), retry_after));
        }
        (statuses, hammered)
    };
    let people = futures_util::future::join_all(buyers[1..].iter().map(|email| {
        let (mistake, right) = (login(email.clone(), wrong), login(email.clone(), PASSWORD));
        async move {
            [
                mistake.await.status().as_u16(),
                right.await.status().as_u16(),
            ]
        }
    }));
    let ((sprayed, hammered), people) = futures_util::future::join(script, people).await;

    for answers in &people {
        assert_eq!(
            answers,
            &[401, 200],
            "a buyer behind the town hall was refused"
        );
    }
    // Two rounds of failures put the address under spray: the third round
    // is refused before any password is checked.
    assert!(
        sprayed[..2]
            .iter()
            .all(|(_, s)| s.iter().all(|s| *s == 401)),
        "{sprayed:?}"
    );
    assert!(sprayed[2].1.iter().all(|s| *s == 429), "{sprayed:?}");
    assert!(hammered[..5].iter().all(|(s, _)| *s == 401), "{hammered:?}");
    for (status, retry_after) in &hammered[5..] {
        assert_eq!(*status, 429);
        assert!(
            retry_after.is_some_and(|s| (1..=60).contains(&s)),
            "{hammered:?}"
        );
    }
    // Its owner waits at most a minute; from elsewhere they are not locked.
    let owner = login(buyers[0].clone(), PASSWORD).await;
    assert_eq!(owner.status(), 429);
    let wait: u64 = owner.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait));
    let from_home = client_from("127.0.0.5")
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": buyers[0], "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(from_home.status(), 200);
}

/// The counters live in PostgreSQL: a second instance on the same database
/// refuses what the first counted.
#[tokio::test]
async fn instances_share_the_login_throttle() {
    let app = TestApp::spawn().await;
    app.signed_up("marie@ferme-envol.fr").await;
    let other = TestApp::spawn_on(
        crate::helpers::TestDatabase::external(app.database.url.clone()),
        &app.database.url,
    )
    .await;
    let from = client_from("127.0.0.6");
    for (i, instance) in [&app, &other, &app, &other, &app].into_iter().enumerate() {
        let response = from
            .post(instance.url("/api/v1/auth/login"))
            .json(&json!({"email": "marie@ferme-envol.fr", "password": "pas le bon"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "attempt {i}");
    }
    let sixth = from
        .post(other.url("/api/v1/auth/login"))
        .json(&json!({"email": "marie@ferme-envol.fr", "password": "pas le bon"}))
        .send()
        .await
        .unwrap();
    assert_problem(sixth, 429, "too-many-requests").await;
    let mut db = app.db().await;
    let rows: i64 = diesel::dsl::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
        "(SELECT count(*) FROM login_counters WHERE position(convert_to('marie', 'UTF8') IN key) > 0)",
    ))
    .get_result(&mut db)
    .await
    .unwrap();
    assert_eq!(rows, 0, "keys are hashes, not emails");
}

/// Registrations: 20 an hour from one address, then 429; another address
/// is not affected.
#[tokio::test]
async fn registrations_are_throttled_per_address() {
    let app = TestApp::spawn().await;
    let script = client_from("127.0.0.7");
    let mut statuses = Vec::new();
    for i in 0..21 {
        let body = json!({"email": format!("robot{i}@spam.example"), "password": PASSWORD, "display_name": "Robot"});
        let response = script
            .post(app.url("/api/v1/auth/register"))
            .json(&body)
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    assert!(statuses[..20].iter().all(|s| *s == 201), "{statuses:?}");
    assert_eq!(statuses[20], 429);
    app.signed_up("marie@ferme-envol.fr").await;
    let mut db = app.db().await;
    let accounts: i64 = users::table.count().get_result(&mut db).await.unwrap();
    assert_eq!(accounts, 21, "the refused registration wrote nothing");
}
