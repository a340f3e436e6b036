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
            passerelle::db::run_migrations_blocking(&pg.url("passerelle")).unwrap();
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
