//! The case pages against the real daemon: each kind opens only to its readers, every view is
//! audited before anything is shown (and nothing is shown if it cannot be), and an exporter's
//! download is an age file that only legal counsel's key opens.

use std::process::Command;

use redb::{ReadableTable, TableDefinition};
use takedown::audit::{Action, Actor, AuditEntry};
use takedown::cases::{CaseId, CaseKind};
use takedown::store::FILE_NAME;
use takedown::store::crypt::AgeIdentity;

use crate::harness::{
    Daemon, LEGAL_RECIPIENT, ScratchDir, audit_log, create_case as create, csrf_token, store_of,
};

const FORM: &str = "application/x-www-form-urlencoded";

async fn get(daemon: &Daemon, login: &str, path: &str) -> (u16, String) {
    let response = daemon.client(login).get(daemon.url(path)).send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn each_kind_of_case_opens_only_to_its_readers_and_every_view_is_audited() {
    let daemon = Daemon::start();
    let store = store_of(&daemon);
    let dmca = create(&store, CaseKind::Dmca, "sentinel-dmca-notice");
    let child = create(&store, CaseKind::ChildProtection, "sentinel-cp-report");

    let (status, list) = get(&daemon, "dmca-agent", "/cases").await;
    assert_eq!(status, 200);
    assert!(list.contains(&dmca.to_string()) && !list.contains(&child.to_string()), "{list}");
    assert!(!list.contains("more case"), "{list}");
    let (_, list) = get(&daemon, "exporter", "/cases").await;
    assert!(list.contains(&dmca.to_string()) && list.contains(&child.to_string()), "{list}");

    let (status, page) = get(&daemon, "dmca-agent", &format!("/cases/{dmca}")).await;
    assert_eq!(status, 200);
    assert!(page.contains("sentinel-dmca-notice") && !page.contains("/export"), "{page}");
    let (status, page) = get(&daemon, "dmca-agent", &format!("/cases/{child}")).await;
    assert_eq!(status, 403);
    assert!(page.contains("child-protection role") && !page.contains("sentinel-cp-report"), "{page}");
    assert_eq!(get(&daemon, "approver", &format!("/cases/{child}")).await.0, 200);
    assert_eq!(get(&daemon, "dmca-agent", &format!("/cases/{}", CaseId::generate())).await.0, 404);
    assert_eq!(get(&daemon, "dmca-agent", "/cases/not-an-id").await.0, 404);

    let log = audit_log(&daemon);
    let views: Vec<(&Actor, Option<CaseId>)> =
        log.iter().filter(|e| e.action == Action::ViewCase).map(|e| (&e.actor, e.case)).collect();
    assert_eq!(
        views,
        [(&Actor::Staff("dmca-agent".into()), Some(dmca)), (&Actor::Staff("approver".into()), Some(child))]
    );
    let denied = log.iter().find(|e| e.action == Action::AccessDenied).expect("the refused view");
    assert!(denied.details.contains(&child.to_string()), "{}", denied.details);
}

#[tokio::test]
async fn a_case_is_not_shown_when_its_view_cannot_be_audited() {
    let daemon = Daemon::start();
    let store = store_of(&daemon);
    let case = create(&store, CaseKind::Dmca, "sentinel-unaudited");
    drop(store);
    // Damage the newest audit record: the next append cannot find the link to extend.
    {
        const AUDIT: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("audit");
        let db = redb::Database::builder()
            .set_concurrency_mode(redb::ConcurrencyMode::MultiWriter)
            .open(daemon.dir.0.join("data").join(FILE_NAME))
            .unwrap();
        let tx = db.begin_write().unwrap();
        {
            let mut table = tx.open_table(AUDIT).unwrap();
            let last = table.last().unwrap().map(|(k, _)| k.value()).unwrap();
            table.insert(last, [0u8; 3].as_slice()).unwrap();
        }
        tx.commit().unwrap();
    }
    let (status, page) = get(&daemon, "dmca-agent", &format!("/cases/{case}")).await;
    assert_eq!(status, 503, "{page}");
    assert!(page.contains("audit log could not record it") && !page.contains("sentinel-unaudited"), "{page}");
}

#[tokio::test]
async fn an_exporter_downloads_one_case_that_only_legal_counsel_can_open() {
    let scratch = ScratchDir::new("counsel");
    let counsel = AgeIdentity::generate();
    let counsel_key = scratch.0.join("counsel.key");
    std::fs::write(&counsel_key, counsel.to_file_text().as_bytes()).unwrap();
    let daemon =
        Daemon::start_with(|config| config.replace(LEGAL_RECIPIENT, &counsel.recipient().to_string()));
    let store = store_of(&daemon);
    let case = create(&store, CaseKind::Dmca, "sentinel-exported");
    let other = create(&store, CaseKind::Dmca, "sentinel-not-exported");
    drop(store);

    let (status, page) = get(&daemon, "exporter", &format!("/cases/{case}")).await;
    assert_eq!(status, 200);
    assert!(page.contains(&counsel.recipient().to_string()), "{page}");
    let token = csrf_token(&page);
    let export = |login: &'static str, body: String| {
        daemon
            .client(login)
            .post(daemon.url(&format!("/cases/{case}/export")))
            .header("content-type", FORM)
            .body(body)
            .send()
    };
    assert_eq!(export("exporter", String::new()).await.unwrap().status().as_u16(), 403, "no CSRF token");
    // A reader of the case without the exporter role, with a real token of their own: refused by
    // the route's role, not by a malformed token.
    let (_, own_page) = get(&daemon, "dmca-agent", "/dmca/new").await;
    let refused = export("dmca-agent", format!("csrf_token={}", csrf_token(&own_page))).await.unwrap();
    assert_eq!(refused.status().as_u16(), 403);
    let refused = refused.text().await.unwrap();
    assert!(refused.contains("needs the exporter role"), "{refused}");

    let response = export("exporter", format!("csrf_token={token}")).await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let disposition = response.headers()["content-disposition"].to_str().unwrap().to_owned();
    assert!(
        disposition.starts_with(&format!("attachment; filename=\"takedown-case-{case}-")),
        "{disposition}"
    );
    let bundle = response.bytes().await.unwrap();
    let store_identity =
        AgeIdentity::parse(&std::fs::read(daemon.dir.0.join("keys/store-identity")).unwrap()).unwrap();
    assert!(store_identity.open(&bundle).is_err(), "the appliance's own key must not open a download");

    // Legal counsel opens it with the stock tools and checks the manifest.
    let file = scratch.0.join("case.age");
    std::fs::write(&file, &bundle).unwrap();
    let unpacked = scratch.0.join("unpacked");
    std::fs::create_dir(&unpacked).unwrap();
    let shell = format!(
        "age -d -i {} {} | tar x -C {} && cd {}/takedown-export-* && sha256sum -c --quiet MANIFEST.sha256 && cat cases/*.json audit.jsonl",
        counsel_key.display(),
        file.display(),
        unpacked.display(),
        unpacked.display()
    );
    let output = Command::new("sh").arg("-c").arg(&shell).output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(text.contains("sentinel-exported") && !text.contains("sentinel-not-exported"), "{text}");
    assert!(text.contains("\"action\":\"export\""), "the export's own audit entry travels with it: {text}");
    assert!(!text.contains(&other.to_string()));

    let exports: Vec<AuditEntry> =
        audit_log(&daemon).into_iter().filter(|e| e.action == Action::Export).collect();
    assert_eq!(exports.len(), 1, "one export, audited once");
    assert_eq!((&exports[0].actor, exports[0].case), (&Actor::Staff("exporter".into()), Some(case)));
    assert!(exports[0].details.contains(&counsel.recipient().to_string()));
}

#[tokio::test]
async fn a_page_number_that_overflows_is_ignored_and_the_daemon_keeps_serving() {
    let daemon = Daemon::start();
    let store = store_of(&daemon);
    let case = create(&store, CaseKind::Dmca, "sentinel-page");
    for page in ["18446744073709551615", "18446744073709551616", "369367187582704337", "0", "-1", "x"] {
        let (status, list) = get(&daemon, "dmca-agent", &format!("/cases?page={page}")).await;
        assert_eq!(status, 200, "page={page}: {list}");
        // A page number that cannot be shown is reported, not applied: the first page is shown.
        assert!(list.contains("Not applied: page: "), "page={page}: {list}");
        assert!(list.contains(&case.to_string()), "page={page}: {list}");
    }
    // A page past the end is simply empty.
    let (status, list) = get(&daemon, "dmca-agent", "/cases?page=1000").await;
    assert_eq!(status, 200, "{list}");
    assert!(!list.contains(&case.to_string()) && !list.contains("Not applied"), "{list}");
    assert_eq!(get(&daemon, "dmca-agent", "/cases").await.0, 200);
}

#[tokio::test]
async fn a_case_list_says_nothing_about_cases_the_viewer_may_not_open() {
    let daemon = Daemon::start();
    let store = store_of(&daemon);
    let dmca = create(&store, CaseKind::Dmca, "sentinel-dmca-notice");
    // What a DMCA agent sees before and after a child-protection case exists is the same page,
    // whatever the filter: the list gives away neither the case nor how many there are.
    let queries = ["/cases", "/cases?kind=child-protection", "/cases?sort=oldest&page=2"];
    let mut before = Vec::new();
    for query in queries {
        let (status, list) = get(&daemon, "dmca-agent", query).await;
        assert_eq!(status, 200, "{query}: {list}");
        before.push(list);
    }
    assert!(before[0].contains(&dmca.to_string()), "{}", before[0]);
    let child = create(&store, CaseKind::ChildProtection, "sentinel-cp-report");
    for (query, before) in queries.iter().zip(&before) {
        let (_, after) = get(&daemon, "dmca-agent", query).await;
        assert!(!after.contains(&child.to_string()), "{query}: {after}");
        assert_eq!(&after, before, "{query}: the list changed when a case the viewer cannot open was added");
    }
    // Looking the case up by its ID says the same as for a case that does not exist.
    let nobody = CaseId::generate();
    let (_, unknown) = get(&daemon, "dmca-agent", &format!("/cases?id={nobody}")).await;
    let (_, hidden) = get(&daemon, "dmca-agent", &format!("/cases?id={child}")).await;
    assert_eq!(hidden.replace(&child.to_string(), "ID"), unknown.replace(&nobody.to_string(), "ID"));
}

#[tokio::test]
async fn the_auditor_reads_the_log_newest_first_filtered_and_verified_and_each_view_is_audited() {
    let daemon = Daemon::start();
    let store = store_of(&daemon);
    let case = create(&store, CaseKind::Dmca, "AUDIT-PAGE-SECRET-notice-text");
    drop(store);
    // Something to see: a refused page, a case view.
    assert_eq!(get(&daemon, "dmca-agent", "/staff").await.0, 403);
    assert_eq!(get(&daemon, "dmca-agent", &format!("/cases/{case}")).await.0, 200);
    for login in ["dmca-agent", "cp-agent", "approver", "exporter"] {
        assert_eq!(get(&daemon, login, "/audit").await.0, 403, "{login} may not read the audit log");
    }
    let (status, page) = get(&daemon, "auditor", "/audit").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Entries, newest first") && page.contains("access-denied"), "{page}");
    assert!(page.contains("view-case") && page.contains(&case.to_string()), "{page}");
    assert!(!page.contains("AUDIT-PAGE-SECRET"), "no case content on the audit page");
    // Newest first: the case view comes before the refusal of /staff that preceded it.
    assert!(page.find("<td>view-case</td>").unwrap() < page.find("GET /staff").unwrap(), "{page}");
    // Filters: by staff member and action, by case.
    let (_, page) = get(&daemon, "auditor", "/audit?staff=dmca-agent&action=access-denied").await;
    assert!(page.contains("access-denied") && !page.contains("<td>view-case</td>"), "{page}");
    let (_, page) = get(&daemon, "auditor", &format!("/audit?case={case}")).await;
    assert!(page.contains("<td>view-case</td>") && !page.contains("<td>access-denied</td>"), "{page}");
    let (_, page) = get(&daemon, "auditor", "/audit?before=18446744073709551615&case=nonsense").await;
    assert!(page.contains("Not applied: case"), "{page}");
    // The whole chain verified on request, without any key.
    let (_, page) = get(&daemon, "auditor", "/audit?verify=now").await;
    assert!(page.contains("Intact"), "{page}");
    // Every view of the log is itself in the log.
    let views = audit_log(&daemon).into_iter().filter(|e| e.action == Action::ViewAudit).count();
    assert_eq!(views, 5, "one entry per view of /audit");
}
