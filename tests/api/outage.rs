//! The database goes away and comes back: 503 with Retry-After, never 500; then recovery.

use passerelle::embedded_pg::{self, EmbeddedPostgres};
use reqwest::StatusCode;

use crate::helpers::*;

#[actix_web::test]
async fn a_stopped_database_gives_503_and_the_service_recovers() {
    // A private cluster, since this test stops it.
    let dir = scratch_dir("outage");
    let cluster = dir.join("cluster");
    let password = dir.join("password");
    let (mut pg, url) = std::thread::spawn({
        let (cluster, password) = (cluster.clone(), password.clone());
        move || {
            let pg = EmbeddedPostgres::start(&cluster, &password, true).unwrap();
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(embedded_pg::ensure_database(
                &pg.url("postgres"),
                "passerelle",
            ))
            .unwrap();
            drop(rt);
            passerelle::migrate::run_blocking(&pg.url("passerelle")).unwrap();
            let url = pg.url("passerelle");
            (pg, url)
        }
    })
    .join()
    .unwrap();
    let port = pg.port;
    let app = spawn_app_on(url).await;
    let token = app.platform_token().await;
    assert_eq!(app.get("/v1/me", &token).await.status(), StatusCode::OK);

    let mut pg = std::thread::spawn(move || {
        pg.stop();
        pg
    })
    .join()
    .unwrap();
    let r = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert!(r.headers().contains_key("retry-after"));
    problem(r, 503).await;
    let r = app.get("/v1/me", &token).await;
    assert!(r.headers().contains_key("retry-after"));
    problem(r, 503).await;
    let r = app
        .token(&[
            ("grant_type", "password"),
            ("username", ADMIN_EMAIL),
            ("password", ADMIN_PASSWORD),
        ])
        .await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"],
        "temporarily_unavailable"
    );
    // Healthz does not depend on the database.
    assert_eq!(
        app.client
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );

    // Back on the same port: the service recovers without a restart.
    drop(pg);
    pg = std::thread::spawn(move || {
        EmbeddedPostgres::start_on(&cluster, &password, true, Some(port)).unwrap()
    })
    .join()
    .unwrap();
    let mut ready = false;
    for _ in 0..50 {
        let r = app.client.get(app.url("/readyz")).send().await.unwrap();
        if r.status() == StatusCode::OK {
            ready = true;
            break;
        }
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        actix_web::rt::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(ready, "readyz recovers");
    let mut ok = false;
    for _ in 0..10 {
        let r = app.get("/v1/me", &token).await;
        if r.status() == StatusCode::OK {
            ok = true;
            break;
        }
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    }
    assert!(ok, "/v1/me recovers");
    std::thread::spawn(move || drop(pg)).join().unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

/// Kills the embedded server's postmaster under the service (as the OOM killer or a crash
/// would): the supervisor notices, starts it again on its port with crash recovery, the
/// service serves again, and every acknowledged write is there.
#[actix_web::test]
async fn a_killed_embedded_database_is_started_again_and_loses_nothing() {
    let dir = scratch_dir("killed");
    let cluster = dir.join("cluster");
    let password = dir.join("password");
    // Durable, like `make run`'s: fsync on.
    let (supervisor, url) = std::thread::spawn(move || {
        let pg = EmbeddedPostgres::start(&cluster, &password, false).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(embedded_pg::ensure_database(
            &pg.url("postgres"),
            "passerelle",
        ))
        .unwrap();
        drop(rt);
        passerelle::migrate::run_blocking(&pg.url("passerelle")).unwrap();
        let url = pg.url("passerelle");
        (pg.supervise(), url)
    })
    .join()
    .unwrap();
    let app = spawn_app_on(url).await;
    let platform = app.platform_token().await;
    // Acknowledged writes, right before the kill.
    let mut written = Vec::new();
    for i in 0..5 {
        let r = app
            .post(
                "/v1/organisations",
                &platform,
                &serde_json::json!({"kind": "association", "name": format!("Avant la panne {i}"),
                                    "siret": siret(), "department_code": "53",
                                    "contact_email": "panne@org.example"}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        written.push(r.json::<serde_json::Value>().await.unwrap()["id"].clone());
    }
    let pid = supervisor.postmaster_pid().expect("the postmaster runs");
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
    let killed = std::time::Instant::now();

    // Answers meanwhile are 503s, never 500s (a backend of the dead postmaster may still
    // answer a moment); a new postmaster, then the service is ready again. Each probe on a
    // new connection: a kept-alive one the server closes as the probe reuses it (a race of
    // HTTP/1.1, seen under load) would be no answer at all.
    let probe = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let mut ready = false;
    while killed.elapsed() < std::time::Duration::from_secs(60) {
        if supervisor.postmaster_pid().is_none_or(|p| p == pid) {
            let r = probe.get(app.url("/readyz")).send().await.unwrap();
            assert!(
                r.status() == StatusCode::OK || r.status() == StatusCode::SERVICE_UNAVAILABLE,
                "{}",
                r.status()
            );
            actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
            continue;
        }
        let r = probe.get(app.url("/readyz")).send().await.unwrap();
        if r.status() == StatusCode::OK {
            ready = true;
            break;
        }
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(ready, "the database came back");
    eprintln!(
        "embedded PostgreSQL killed: ready again after {:.2} s",
        killed.elapsed().as_secs_f64()
    );
    assert_ne!(supervisor.postmaster_pid(), Some(pid), "a new postmaster");
    for id in written {
        let mut found = None;
        // A pooled connection to the dead server fails once (503) before it is replaced.
        for _ in 0..20 {
            let r = app
                .get(
                    &format!("/v1/organisations/{}", id.as_str().unwrap()),
                    &platform,
                )
                .await;
            if r.status() != StatusCode::SERVICE_UNAVAILABLE {
                found = Some(r.status());
                break;
            }
        }
        assert_eq!(found, Some(StatusCode::OK), "organisation {id} kept");
    }
    std::thread::spawn(move || drop(supervisor)).join().unwrap();
    let _ = std::fs::remove_dir_all(dir);
}
