//! The child-protection workflow end to end: the real daemon over mTLS, the simulated NCMEC,
//! Salesforce and wiki in this process (faults switched per step, what they received read
//! back), and `xmllint` with NCMEC's schema on every report and file detail sent.

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

use takedown::audit::{Action, Actor};
use takedown::demo::services::SimulatedServices;
use takedown_peers::{Fault, PeerService};

use crate::harness::{self, Daemon};

const BOUNDARY: &str = "cp-test-boundary";

/// Text with every character XML and HTML treat specially.
const INJECTION: &str = "<b>&amp;</b> \"quoted\" 'single' ]]> <!DOCTYPE x> &#x41;";

struct World {
    peers: SimulatedServices,
    daemon: Daemon,
}

impl World {
    fn start() -> Self {
        Self::start_with("")
    }

    /// A world whose config ends with `extra` (more sections).
    fn start_with(extra: &str) -> Self {
        let (peers, daemon) = harness::start_with_simulated_services("cp", extra, &[]);
        World { peers, daemon }
    }

    async fn get(&self, login: &str, path: &str) -> (u16, String) {
        let response = self.daemon.client(login).get(self.daemon.url(path)).send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    async fn token(&self, login: &str) -> String {
        harness::csrf_token(&self.get(login, "/").await.1)
    }

    /// Posts a URL-encoded form as `login`; returns the final status, path and page.
    async fn post(&self, login: &str, path: &str, fields: &[(&str, &str)]) -> (u16, String, String) {
        let mut encoder = form_urlencoded::Serializer::new(String::new());
        encoder.append_pair("csrf_token", &self.token(login).await);
        for (name, value) in fields {
            encoder.append_pair(name, value);
        }
        let response = self
            .daemon
            .client(login)
            .post(self.daemon.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("sec-fetch-site", "same-origin")
            .body(encoder.finish())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let url = response.url().path().to_owned();
        (status, url, response.text().await.unwrap())
    }

    /// Sends `images` (one per report file, as `image_N`) to NCMEC from the case page.
    async fn send(&self, case: &str, images: &[&[u8]], accept_mismatch: bool) -> (u16, String) {
        self.send_as("cp-agent", case, images, accept_mismatch).await
    }

    /// [`World::send`] as `login`.
    async fn send_as(
        &self,
        login: &str,
        case: &str,
        images: &[&[u8]],
        accept_mismatch: bool,
    ) -> (u16, String) {
        let mut body = part(BOUNDARY, "csrf_token", None);
        body.extend_from_slice(self.token(login).await.as_bytes());
        if accept_mismatch {
            body.extend_from_slice(b"\r\n");
            body.extend(part(BOUNDARY, "accept_sha1_mismatch", None));
            body.extend_from_slice(b"yes");
        }
        for (i, image) in images.iter().enumerate() {
            body.extend_from_slice(b"\r\n");
            body.extend(part(BOUNDARY, &format!("image_{i}"), Some(&format!("photo {i}.jpg"))));
            body.extend_from_slice(image);
        }
        body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
        let response = self
            .daemon
            .client(login)
            .post(self.daemon.url(&format!("/cases/{case}/ncmec")))
            .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
            .header("sec-fetch-site", "same-origin")
            .timeout(Duration::from_secs(60))
            .body(body)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    /// Records a report with `files` (wiki names) as `login`, and returns its case ID.
    async fn report(&self, login: &str, files: &[&str]) -> String {
        let mut fields = vec![
            ("environment", "test"),
            ("statement", "taken-down-suppressed"),
            ("statement", "checkuser"),
            ("permanent_notes", INJECTION),
            ("reporter_first_name", INJECTION),
            ("reporter_last_name", "Okafor"),
            ("reporter_email", "cp-agent@test.invalid"),
            ("accessed_at", "2026-11-01T10:00"),
            ("project", "commonswiki"),
            ("uploader", "Cp uploader"),
            ("uploader_email", "uploader@example.net"),
            ("additional_info", INJECTION),
        ];
        for (i, name) in files.iter().enumerate() {
            fields.push(("file_name", name));
            fields.push(("file_uploaded", "2026-10-30T08:15"));
            fields.push(("file_ip", if i % 2 == 0 { "192.0.2.44" } else { "2001:db8::44" }));
        }
        let (status, url, page) = self.post(login, "/cp/new", &fields).await;
        assert_eq!(status, 200, "{page}");
        url.strip_prefix("/cases/").unwrap_or_else(|| panic!("not sent to the case: {url} {page}")).to_owned()
    }

    async fn approve(&self, case: &str) {
        let (status, _, page) =
            self.post("approver", &format!("/cases/{case}/approval"), &[("decision", "approve")]).await;
        assert_eq!(status, 200, "{page}");
        assert!(page.contains("Approved by approver"), "{page}");
    }

    fn journal(&self, endpoint: &str) -> Vec<serde_json::Value> {
        self.peers
            .peers
            .journal(PeerService::Ncmec)
            .into_iter()
            .filter(|e| e["endpoint"] == endpoint)
            .collect()
    }

    fn report_state(&self, id: u64) -> String {
        let snapshot = self.peers.peers.snapshot(PeerService::Ncmec);
        let reports = snapshot["reports"].as_array().unwrap();
        let report =
            reports.iter().find(|r| r["id"] == id).unwrap_or_else(|| panic!("no report {id}: {snapshot}"));
        report["state"].as_str().unwrap().to_owned()
    }

    fn fault(&self, endpoint: &str, fault: Fault) {
        self.peers.peers.set_fault(PeerService::Ncmec, endpoint, fault);
    }
}

fn part(boundary: &str, name: &str, file_name: Option<&str>) -> Vec<u8> {
    match file_name {
        None => format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n"),
        Some(file) => format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\n\
             Content-Type: image/jpeg\r\n\r\n"
        ),
    }
    .into_bytes()
}

/// A fresh image: a JPEG header and random bytes.
fn image() -> Vec<u8> {
    let mut bytes = b"\xff\xd8\xff\xe0JFIF".to_vec();
    bytes.extend(crate::sentinel::random_bytes(4096));
    bytes
}

fn sha1(bytes: &[u8]) -> String {
    use sha1::Digest as _;
    hex::encode(sha1::Sha1::digest(bytes))
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// The submission section's state (`filed`, `retracted`, `open`, …), the last one on the page.
fn submission_state(page: &str) -> &str {
    page.rsplit("data-state=\"").next().and_then(|rest| rest.split('"').next()).unwrap_or_default()
}

/// Validates `xml` against NCMEC's schema with `xmllint` (fed on stdin).
fn assert_schema_valid(xml: &str) {
    let schema = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/ncmec/cyber_tipline.xsd");
    let mut child = Command::new("xmllint")
        .args(["--noout", "--schema", schema, "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("xmllint must be installed to run these tests");
    child.stdin.take().unwrap().write_all(xml.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}\n{xml}", String::from_utf8_lossy(&output.stderr));
}

/// Every `<report>` and `<fileDetails>` NCMEC received validates, and the typed injection
/// arrived as text (escaped), never as markup.
fn assert_every_xml_valid_and_escaped(world: &World) -> usize {
    let mut checked = 0;
    let snapshot = world.peers.peers.snapshot(PeerService::Ncmec);
    for document in snapshot["documents"].as_array().unwrap() {
        let xml = document.as_str().unwrap();
        assert_schema_valid(xml);
        assert!(!xml.contains("<b>") && !xml.contains("<!DOCTYPE x>"), "markup got through: {xml}");
        if xml.contains("<report>") {
            assert!(xml.contains("&lt;b&gt;&amp;amp;&lt;/b&gt;"), "the injection is not escaped text: {xml}");
        }
        checked += 1;
    }
    checked
}

#[tokio::test]
async fn a_three_image_report_is_approved_by_another_person_filed_and_a_repeat_links_it() {
    let world = World::start();
    let images = [image(), image(), image()];
    let names = ["Cp one.jpg", "Cp two.jpg", "Cp three.jpg"];
    for (name, bytes) in names.iter().zip(&images) {
        assert!(world.peers.peers.add_file(PeerService::Wiki, name, "Cp uploader", bytes));
    }
    let (status, form) = world.get("cp-agent", "/cp/new").await;
    assert_eq!(status, 200);
    assert!(form.contains("NCMEC TEST environment"), "the banner says where it goes");
    // The reporter is the staffer the roster names (Chris Okafor), not two empty boxes.
    assert!(form.contains(r#"name="reporter_first_name" value="Chris""#), "{form}");
    assert!(form.contains(r#"name="reporter_last_name" value="Okafor""#), "{form}");
    let case = world.report("cp-agent", &names).await;
    let refused = world.send(&case, &[&images[0], &images[1], &images[2]], false).await;
    assert_eq!(refused.0, 409, "nothing is sent before approval: {}", refused.1);
    assert!(world.journal("submit").is_empty());
    world.approve(&case).await;
    let (status, page) = world.send(&case, &[&images[0], &images[1], &images[2]], false).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(submission_state(&page), "filed", "{page}");
    assert_eq!(world.journal("submit").len(), 1);
    assert_eq!(world.journal("upload").len(), 3);
    assert_eq!(world.journal("fileinfo").len(), 3);
    assert_eq!(world.journal("finish").len(), 1);
    assert!(world.journal("retract").is_empty());
    let report_id = world.journal("submit")[0]["received"]["report_id"].as_u64().unwrap();
    assert_eq!(world.report_state(report_id), "finished");
    assert!(page.contains(&format!("Report {report_id} filed with NCMEC")), "{page}");
    for bytes in &images {
        assert!(page.contains(&sha1(bytes)), "each SHA-1 is shown");
    }
    assert_eq!(page.matches("data-wiki-hash=\"matches\"").count(), 3, "{page}");
    assert!(!page.contains("<b>&amp;</b>"), "the page escapes what was typed");
    // The CRM has the report ID and the hashes, never the CheckUser text or the IPs.
    let crm = world.peers.peers.snapshot(PeerService::Salesforce).to_string();
    assert!(crm.contains(&report_id.to_string()) && crm.contains(&sha1(&images[0])), "{crm}");
    for secret in ["]]>", "192.0.2.44", "2001:db8::44", "quoted"] {
        assert!(!crm.contains(secret), "{secret} reached the CRM: {crm}");
    }
    harness::assert_salesforce_got_no_file(&world.peers, &[&images[0], &images[1], &images[2]]);

    // The same image in a later report: a warning that links the earlier case and report, and
    // NCMEC is told of the prior report.
    let again = world.report("cp-agent", &["Cp one.jpg"]).await;
    world.approve(&again).await;
    let (status, page) = world.send(&again, &[&images[0]], false).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(&format!("href=\"/cases/{case}\"")), "the earlier case is linked: {page}");
    assert!(page.contains(&format!("report {report_id}")), "{page}");
    let snapshot = world.peers.peers.snapshot(PeerService::Ncmec);
    let reports: Vec<&str> = snapshot["documents"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d.as_str())
        .filter(|d| d.contains("<report>"))
        .collect();
    let second = reports[1];
    assert!(second.contains(&format!("<priorCTReports>{report_id}</priorCTReports>")), "{second}");
    assert_eq!(assert_every_xml_valid_and_escaped(&world), 6);
}

#[tokio::test]
async fn a_failure_at_each_step_after_the_submit_retracts_the_report_at_once() {
    let world = World::start();
    let faults: [(&str, Fault); 4] = [
        ("upload", Fault { from_call: 2, ..Fault::status(500) }),
        ("fileinfo", Fault::status(500)),
        ("finish", Fault::status(503)),
        (
            "upload",
            Fault {
                status: Some(200),
                content_type: Some("text/xml".into()),
                body: Some(
                    "<reportResponse><responseCode>0</responseCode><responseDescription>Success</responseDescription>\
                     <reportId>1</reportId><fileId>0123456789abcdef0123456789abcdef</fileId>\
                     <hash>00000000000000000000000000000000</hash></reportResponse>"
                        .into(),
                ),
                ..Fault::default()
            },
        ),
    ];
    for (round, (endpoint, fault)) in faults.into_iter().enumerate() {
        let case = world.report("cp-agent", &["Failing one.jpg", "Failing two.jpg"]).await;
        world.approve(&case).await;
        world.fault(endpoint, fault);
        let fileinfo_before = world.journal("fileinfo").len();
        let (status, page) = world.send(&case, &[&image(), &image()], true).await;
        world.fault(endpoint, Fault::default());
        assert_eq!(status, 200, "round {round}: {page}");
        assert_eq!(submission_state(&page), "retracted", "round {round} ({endpoint}): {page}");
        let report_id = world.journal("submit").last().unwrap()["received"]["report_id"].as_u64().unwrap();
        assert_eq!(world.report_state(report_id), "retracted", "round {round}");
        assert!(page.contains("retracted: NCMEC cancelled the report"), "{page}");
        if round == 3 {
            assert!(page.contains("MD5"), "the MD5 disagreement is named: {page}");
            assert_eq!(
                world.journal("fileinfo").len(),
                fileinfo_before,
                "the flow stopped at the bad upload"
            );
        }
    }
    // A refused submit opens nothing: nothing to retract, and the case may be sent again.
    let case = world.report("cp-agent", &["Refused.jpg"]).await;
    world.approve(&case).await;
    let retractions = world.journal("retract").len();
    world.fault(
        "submit",
        Fault {
            status: Some(200),
            content_type: Some("text/xml".into()),
            body: Some("<reportResponse><responseCode>4100</responseCode><responseDescription>Validation failed</responseDescription></reportResponse>".into()),
            ..Fault::default()
        },
    );
    let (status, page) = world.send(&case, &[&image()], true).await;
    world.fault("submit", Fault::default());
    assert_eq!(status, 200, "{page}");
    assert_eq!(submission_state(&page), "not-opened", "{page}");
    assert_eq!(world.journal("retract").len(), retractions);
    assert!(page.contains("4100"), "the code is shown: {page}");
    let (status, page) = world.send(&case, &[&image()], true).await;
    assert_eq!((status, submission_state(&page)), (200, "filed"), "{page}");

    // The retraction page explains NCMEC's answer for a retracted, a filed and an unknown report.
    let retracted = world.journal("retract")[0]["received"]["report_id"].as_u64().unwrap();
    let filed = world.journal("finish").last().unwrap()["received"]["report_id"].as_u64().unwrap();
    for (id, meaning) in [
        (retracted, "already retracted"),
        (filed, "already finished"),
        (99_999_999, "unknown: NCMEC has no such open report"),
    ] {
        let (status, _, page) = world
            .post("cp-agent", "/ncmec/retract", &[("environment", "test"), ("report_id", &id.to_string())])
            .await;
        assert_eq!(status, 200, "{page}");
        assert!(page.contains(meaning), "{id}: {page}");
    }
    assert_every_xml_valid_and_escaped(&world);
}

#[tokio::test]
async fn a_report_retracted_from_the_retraction_page_is_recorded_retracted_in_its_case() {
    let world = World::start();
    let case = world.report("cp-agent", &["Left open.jpg"]).await;
    world.approve(&case).await;
    // The finish fails and so does the retraction after it: the report stays open at NCMEC,
    // and the case page sends the staffer to the retraction page.
    world.fault("finish", Fault::status(503));
    world.fault("retract", Fault::status(500));
    let (status, page) = world.send(&case, &[&image()], false).await;
    world.fault("finish", Fault::default());
    world.fault("retract", Fault::default());
    assert_eq!(status, 200, "{page}");
    assert_eq!(submission_state(&page), "open", "{page}");
    assert!(page.contains("href=\"/ncmec/retract\""), "{page}");
    let report_id = world.journal("submit")[0]["received"]["report_id"].as_u64().unwrap();
    let (status, _, page) = world
        .post("cp-agent", "/ncmec/retract", &[("environment", "test"), ("report_id", &report_id.to_string())])
        .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("retracted: NCMEC cancelled the report"), "{page}");
    assert!(page.contains(&format!("href=\"/cases/{case}\"")), "the page names the case: {page}");
    assert_eq!(world.report_state(report_id), "retracted");
    // The case's journal records it, so its page shows the report retracted.
    let (_, page) = world.get("cp-agent", &format!("/cases/{case}")).await;
    assert_eq!(submission_state(&page), "retracted", "{page}");
    assert!(page.contains("asked on the retraction page"), "{page}");
    assert!(page.contains("Send to NCMEC again"), "{page}");
    let entries = harness::audit_log(&world.daemon);
    assert!(
        entries.iter().any(|e| e.action == Action::Retract
            && e.case.is_none()
            && e.details.contains(&format!("retraction page: report {report_id}"))),
        "the retraction page's own entry"
    );
    assert!(
        entries.iter().any(|e| e.action == Action::Retract
            && e.actor == Actor::Staff("cp-agent".into())
            && e.outcome == takedown::audit::Outcome::Done
            && e.case.is_some_and(|c| c.to_string() == case)),
        "the case's entry of the retraction that worked (the automatic one failed), by the staffer"
    );
}

/// Sends a two-image report whose `endpoint` call number `call` NCMEC carries out and then
/// answers only after a minute; kills the daemon while it waits and starts it again. Returns
/// the case and the report.
async fn kill_while_ncmec_answers(
    world: &mut World,
    endpoint: &str,
    call: u32,
    images: &[Vec<u8>],
) -> (String, u64) {
    let case = world.report("cp-agent", &["Killed one.jpg", "Killed two.jpg"]).await;
    world.approve(&case).await;
    world.fault(endpoint, Fault { from_call: call, ..Fault::delay(Duration::from_secs(60)) });
    let calls_before = world.journal(endpoint).len();
    let token = world.token("cp-agent").await;
    let client = world.daemon.client("cp-agent");
    let url = world.daemon.url(&format!("/cases/{case}/ncmec"));
    let mut body = part(BOUNDARY, "csrf_token", None);
    body.extend_from_slice(token.as_bytes());
    for (i, image) in images.iter().enumerate() {
        body.extend_from_slice(b"\r\n");
        body.extend(part(BOUNDARY, &format!("image_{i}"), Some("x.jpg")));
        body.extend_from_slice(image);
    }
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    let pending = tokio::spawn(
        client
            .post(url)
            .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
            .header("sec-fetch-site", "same-origin")
            .timeout(Duration::from_secs(90))
            .body(body)
            .send(),
    );
    // The held call is journaled by the peer once carried out, before its answer.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while world.journal(endpoint).len() < calls_before + call as usize {
        assert!(std::time::Instant::now() < deadline, "NCMEC never received {endpoint} call {call}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let report_id = world.journal("submit").last().expect("the report was opened")["received"]["report_id"]
        .as_u64()
        .unwrap();
    world.daemon.kill_and_restart();
    assert!(pending.await.unwrap().is_err(), "the killed daemon never answered");
    world.fault(endpoint, Fault::default());
    (case, report_id)
}

/// The case page once the start-up sweep has settled its open report (fails if it never does).
async fn page_once_settled(world: &World, case: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let page = world.get("cp-agent", &format!("/cases/{case}")).await.1;
        if submission_state(&page) != "open" {
            return page;
        }
        assert!(std::time::Instant::now() < deadline, "the open report was never settled: {page}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_daemon_killed_mid_flow_retracts_the_open_report_at_its_next_start() {
    let mut world = World::start();
    let (case, report_id) = kill_while_ncmec_answers(&mut world, "upload", 2, &[image(), image()]).await;
    let page = page_once_settled(&world, &case).await;
    assert_eq!(submission_state(&page), "retracted", "{page}");
    assert_eq!(world.report_state(report_id), "retracted", "retracted at NCMEC");
    assert!(page.contains("the appliance restarted while the report was open"), "{page}");
    assert!(page.contains("Send to NCMEC again"), "the case is ready for resubmission: {page}");
}

#[tokio::test]
async fn a_finish_cut_short_by_a_crash_is_found_filed_at_the_next_start_and_its_images_indexed() {
    let mut world = World::start();
    let images = [image(), image()];
    let (case, report_id) = kill_while_ncmec_answers(&mut world, "finish", 1, &images).await;
    assert_eq!(world.report_state(report_id), "finished", "NCMEC filed it before the crash");
    let page = page_once_settled(&world, &case).await;
    assert_eq!(submission_state(&page), "filed", "{page}");
    assert!(page.contains("already finished"), "the retraction's 5102 is shown: {page}");
    assert!(!page.contains("Send to NCMEC again"), "a filed report is not offered again: {page}");
    // Its images count as reported: a later report of one of them is warned and linked.
    let again = world.report("cp-agent", &["Again.jpg"]).await;
    world.approve(&again).await;
    let (status, page) = world.send(&again, &[&images[1]], true).await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains(&format!("href=\"/cases/{case}\"")) && page.contains(&format!("report {report_id}")),
        "{page}"
    );
}

#[tokio::test]
async fn only_another_approver_releases_a_report_and_other_roles_are_refused() {
    let world = World::start();
    let own = image();
    assert!(world.peers.peers.add_file(PeerService::Wiki, "Own.jpg", "Cp uploader", &own));
    // cp-lead has both roles: they prepare the report, and may not be its second person.
    let case = world.report("cp-lead", &["Own.jpg"]).await;
    let approval = format!("/cases/{case}/approval");
    let (status, _, page) = world.post("cp-lead", &approval, &[("decision", "approve")]).await;
    assert_eq!(status, 409, "{page}");
    assert!(page.contains("another person with the approver role"), "{page}");
    // The self-approval refusal is in the audit log, by whom and for which case.
    let refused = harness::audit_log(&world.daemon).into_iter().any(|e| {
        e.actor == Actor::Staff("cp-lead".into())
            && e.outcome == takedown::audit::Outcome::Refused
            && e.case.is_some_and(|c| c.to_string() == case)
            && e.details.contains("another person with the approver role")
    });
    assert!(refused, "the self-approval refusal is audited");
    // Staff without the approver role, each posting with a valid form token of their own.
    for login in ["cp-agent", "dmca-agent", "auditor"] {
        let (status, _, page) = world.post(login, &approval, &[("decision", "approve")]).await;
        assert_eq!(status, 403, "{login}: {page}");
    }
    // None of that released it: the preparer's send (a valid token, the right images) is
    // refused, and NCMEC received nothing.
    let (_, page) = world.get("cp-lead", &format!("/cases/{case}")).await;
    assert!(page.contains("Waiting for approval"), "{page}");
    let (status, page) = world.send_as("cp-lead", &case, &[&own], false).await;
    assert_eq!(status, 409, "{page}");
    assert!(page.contains("report is not approved; nothing was sent"), "{page}");
    assert!(world.journal("submit").is_empty(), "nothing reached NCMEC before the approval");
    // Another approver releases it: the same send now files the report.
    world.approve(&case).await;
    let (status, page) = world.send_as("cp-lead", &case, &[&own], false).await;
    assert_eq!((status, submission_state(&page)), (200, "filed"), "{page}");
    let submits = world.journal("submit");
    assert_eq!(submits.len(), 1);
    assert_eq!(world.report_state(submits[0]["received"]["report_id"].as_u64().unwrap()), "finished");

    // A decline needs a reason, and is final.
    let declined = world.report("cp-lead", &["Own.jpg"]).await;
    let approval = format!("/cases/{declined}/approval");
    let (status, _, page) = world.post("approver", &approval, &[("decision", "decline")]).await;
    assert_eq!(status, 409, "a decline needs a reason: {page}");
    let (status, _, page) =
        world.post("approver", &approval, &[("decision", "decline"), ("reason", "not CSAM")]).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Declined by approver: not CSAM"), "{page}");
    // The deployment does not take approvals given outside the appliance.
    let (status, _, _) = world
        .post("cp-lead", &format!("/cases/{declined}/approval/out-of-band"), &[("approver_name", "Someone")])
        .await;
    assert_eq!(status, 409);
    for login in ["dmca-agent", "auditor"] {
        let (status, _) = world.get(login, "/cp/new").await;
        assert_eq!(status, 403, "{login}");
    }
    let (status, _) = world.get("dmca-agent", &format!("/cases/{declined}")).await;
    assert_eq!(status, 403);
    let (_, list) = world.get("dmca-agent", "/cases").await;
    assert!(!list.contains(&declined), "the list hides it");
    // Each refusal is in the audit log, by whom and for which page.
    let denied: Vec<String> = harness::audit_log(&world.daemon)
        .into_iter()
        .filter(|e| e.action == Action::AccessDenied && e.actor == Actor::Staff("dmca-agent".into()))
        .map(|e| e.details)
        .collect();
    assert!(denied.iter().any(|d| d.contains("/cp/new")), "{denied:?}");
    assert!(denied.iter().any(|d| d.contains(&format!("/cases/{declined}"))), "{denied:?}");
    assert!(denied.iter().any(|d| d.contains(&format!("/cases/{case}/approval"))), "{denied:?}");
}

#[tokio::test]
async fn a_declined_report_cannot_be_sent_and_nothing_reaches_ncmec() {
    let world = World::start();
    let picture = image();
    assert!(world.peers.peers.add_file(PeerService::Wiki, "Declined.jpg", "Cp uploader", &picture));
    let case = world.report("cp-agent", &["Declined.jpg"]).await;
    let (status, _, page) = world
        .post(
            "approver",
            &format!("/cases/{case}/approval"),
            &[("decision", "decline"), ("reason", "not CSAM")],
        )
        .await;
    assert_eq!(status, 200, "{page}");
    // The sender posts the images with a valid form token: refused, nothing sent.
    let (status, page) = world.send(&case, &[&picture], false).await;
    assert_eq!(status, 409, "{page}");
    assert!(page.contains("report is not approved; nothing was sent"), "{page}");
    let ncmec = world.peers.peers.journal(PeerService::Ncmec);
    assert!(ncmec.iter().all(|e| e["endpoint"] == "status"), "NCMEC got more than status checks: {ncmec:?}");
    let (_, page) = world.get("cp-agent", &format!("/cases/{case}")).await;
    assert!(page.contains("Declined by approver: not CSAM"), "{page}");
    assert!(!page.contains("data-state=\""), "no submission is recorded: {page}");
}

#[tokio::test]
async fn only_the_preparer_records_an_approval_given_outside_the_appliance_and_it_releases_the_report() {
    let world = World::start_with("\n[child_protection]\nout_of_band_approval = true\n");
    let picture = image();
    assert!(world.peers.peers.add_file(PeerService::Wiki, "Outside.jpg", "Cp uploader", &picture));
    let case = world.report("cp-agent", &["Outside.jpg"]).await;
    // Another child-protection staffer may not say the report was approved elsewhere.
    let (status, _, page) = world
        .post("cp-lead", &format!("/cases/{case}/approval/out-of-band"), &[("approver_name", "Jo Counsel")])
        .await;
    assert_eq!(status, 409, "only the preparer records it: {page}");
    assert!(page.contains("only the person who prepared this report"), "{page}");
    let (_, page) = world.get("cp-agent", &format!("/cases/{case}")).await;
    assert!(page.contains("Waiting for approval"), "nothing was recorded: {page}");
    assert!(!page.contains("Jo Counsel"), "{page}");
    let (status, refused) = world.send(&case, &[&picture], false).await;
    assert_eq!(status, 409, "not released by the refused record: {refused}");
    let (_, lead_page) = world.get("cp-lead", &format!("/cases/{case}")).await;
    assert!(!lead_page.contains("approval/out-of-band"), "the form is the preparer's only: {lead_page}");
    assert!(page.contains("approval/out-of-band"), "the preparer has the form: {page}");
    // The preparer records it, and the report is released.
    let (status, _, page) = world
        .post("cp-agent", &format!("/cases/{case}/approval/out-of-band"), &[("approver_name", "Jo Counsel")])
        .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Approved outside the appliance by Jo Counsel (recorded by cp-agent)"), "{page}");
    assert!(world.journal("submit").is_empty(), "nothing was sent before");
    let (status, page) = world.send(&case, &[&picture], false).await;
    assert_eq!((status, submission_state(&page)), (200, "filed"), "{page}");
    let submits = world.journal("submit");
    assert_eq!(submits.len(), 1, "the report reached NCMEC once");
    assert_eq!(world.report_state(submits[0]["received"]["report_id"].as_u64().unwrap()), "finished");
}

#[tokio::test]
async fn two_concurrent_sends_of_an_approved_report_reach_ncmec_once_and_the_second_is_refused() {
    let world = World::start();
    let picture = image();
    assert!(world.peers.peers.add_file(PeerService::Wiki, "Twice.jpg", "Cp uploader", &picture));
    let case = world.report("cp-agent", &["Twice.jpg"]).await;
    world.approve(&case).await;
    // The first send's wiki comparison (after its claim on the case, before anything is
    // journaled or sent) is answered only after three seconds: the second send arrives while
    // the first is in that window, where only the claim can stop it.
    world.peers.peers.set_fault(
        PeerService::Wiki,
        "action=query",
        Fault { times: Some(1), ..Fault::delay(Duration::from_secs(3)) },
    );
    let queries_before = wiki_queries(&world);
    let first = {
        let (picture, case) = (picture.clone(), case.clone());
        let world = &world;
        async move { world.send(&case, &[&picture], false).await }
    };
    let second = async {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while wiki_queries(&world) == queries_before {
            assert!(std::time::Instant::now() < deadline, "the first send never compared with the wiki");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        world.send(&case, &[&picture], false).await
    };
    // Both are answered well within the sends' own timeout, or the daemon is stuck.
    let both = tokio::time::timeout(Duration::from_secs(30), async { tokio::join!(first, second) }).await;
    let ((status, page), (second_status, second_page)) = both
        .unwrap_or_else(|_| panic!("neither send was answered within 30 s: the second one hung the daemon"));
    assert_eq!((status, submission_state(&page)), (200, "filed"), "{page}");
    assert_eq!(second_status, 409, "{second_page}");
    assert!(
        second_page.contains("report is being sent right now; nothing more was sent"),
        "the second send is refused, saying why: {second_page}"
    );
    let submits = world.journal("submit");
    assert_eq!(submits.len(), 1, "exactly one submission reached NCMEC: {submits:?}");
    assert_eq!(world.journal("finish").len(), 1);
    // Once the first is done, another send sees its filed report.
    let (status, page) = world.send(&case, &[&picture], false).await;
    assert_eq!(status, 409, "{page}");
    assert!(page.contains("is already filed with NCMEC"), "{page}");
    assert_eq!(world.journal("submit").len(), 1);
}

/// How many `action=query` calls the simulated wiki has received.
fn wiki_queries(world: &World) -> usize {
    world.peers.peers.journal(PeerService::Wiki).iter().filter(|e| e["endpoint"] == "action=query").count()
}

#[tokio::test]
async fn a_submit_whose_answer_never_came_blocks_another_submission_even_after_a_restart() {
    let mut world = World::start();
    let picture = image();
    let case = world.report("cp-agent", &["Unanswered.jpg"]).await;
    world.approve(&case).await;
    // NCMEC opens the report, then the connection drops before its answer: the report may exist
    // at NCMEC under an ID the appliance never learnt.
    world.fault("submit", Fault { drop_connection: true, times: Some(1), ..Fault::default() });
    let (status, page) = world.send(&case, &[&picture], true).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(submission_state(&page), "submit-unknown", "{page}");
    assert!(page.contains("ask NCMEC before sending again"), "{page}");
    let submits = world.journal("submit");
    assert_eq!(submits.len(), 1, "one submit, not repeated: {submits:?}");
    assert_eq!(submits[0]["processed"], true, "control: NCMEC did open a report");
    // A second send (NCMEC answers again now) is refused before anything goes out...
    let (status, page) = world.send(&case, &[&picture], true).await;
    assert_eq!(status, 409, "{page}");
    assert!(page.contains("ask NCMEC first; nothing was sent"), "{page}");
    assert_eq!(world.journal("submit").len(), 1, "no duplicate report");
    // ...and still after a restart: the block is folded from the store alone.
    world.daemon.kill_and_restart();
    let (status, page) = world.send(&case, &[&picture], true).await;
    assert_eq!(status, 409, "{page}");
    assert!(page.contains("ask NCMEC first; nothing was sent"), "{page}");
    assert_eq!(world.journal("submit").len(), 1, "no duplicate report");
}

#[tokio::test]
async fn a_retraction_that_failed_is_retried_at_the_next_start_and_recorded_in_the_case() {
    let mut world = World::start();
    let case = world.report("cp-agent", &["Unfinished.jpg"]).await;
    world.approve(&case).await;
    // The finish fails, so the report is retracted at once; that first retraction fails too.
    world.fault("finish", Fault::status(503));
    world.fault("retract", Fault { times: Some(1), ..Fault::status(500) });
    let (status, page) = world.send(&case, &[&image()], true).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(submission_state(&page), "open", "{page}");
    let report_id = world.journal("submit")[0]["received"]["report_id"].as_u64().unwrap();
    assert_eq!(world.report_state(report_id), "open", "the report is left open at NCMEC");
    assert_eq!(world.journal("retract").len(), 1);
    // The appliance retries it on its own (the sweep the watchdog runs every five minutes, run
    // at start-up too): the report is retracted at NCMEC and the case records it.
    world.daemon.kill_and_restart();
    let page = page_once_settled(&world, &case).await;
    assert_eq!(submission_state(&page), "retracted", "{page}");
    assert_eq!(world.report_state(report_id), "retracted");
    let retractions = world.journal("retract");
    assert_eq!(retractions.len(), 2, "the failed retraction and its retry: {retractions:?}");
    assert_eq!(retractions[1]["processed"], true);
    assert_eq!(retractions[1]["received"]["report_id"], report_id);
    let outcomes: Vec<takedown::audit::Outcome> = harness::audit_log(&world.daemon)
        .into_iter()
        .filter(|e| e.action == Action::Retract && e.case.is_some_and(|c| c.to_string() == case))
        .map(|e| e.outcome)
        .collect();
    assert!(outcomes.contains(&takedown::audit::Outcome::Failed), "the failure is audited: {outcomes:?}");
    assert_eq!(outcomes.last(), Some(&takedown::audit::Outcome::Done), "the retry is audited: {outcomes:?}");
}

#[tokio::test]
async fn the_watchdog_retries_a_failed_retraction_while_the_daemon_runs_until_ncmec_retracts_it() {
    // The watchdog looks every second here (five minutes by default), so its retries come
    // within a test's patience; the daemon is never restarted, so only the timer can retry.
    let world = World::start_with("\n[child_protection]\nwatchdog_interval_seconds = 1\n");
    let case = world.report("cp-agent", &["Watched.jpg"]).await;
    world.approve(&case).await;
    // The finish fails, so the report is retracted at once; that retraction fails, and so does
    // the watchdog's first retry: only a timer that keeps looking settles it.
    world.fault("finish", Fault::status(503));
    world.fault("retract", Fault { times: Some(2), ..Fault::status(500) });
    let (status, page) = world.send(&case, &[&image()], true).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(submission_state(&page), "open", "{page}");
    let report_id = world.journal("submit")[0]["received"]["report_id"].as_u64().unwrap();
    let page = page_once_settled(&world, &case).await;
    assert_eq!(submission_state(&page), "retracted", "{page}");
    assert!(page.contains("the watchdog retries a retraction that failed"), "{page}");
    assert!(page.contains("Send to NCMEC again"), "the case is ready for resubmission: {page}");
    assert_eq!(world.report_state(report_id), "retracted", "retracted at NCMEC");
    // What NCMEC received: one report, its one image, the finish that failed, and three
    // retractions of that report (at once, the watchdog's failed retry, its retry that worked).
    let retractions = world.journal("retract");
    let processed: Vec<&serde_json::Value> = retractions.iter().map(|r| &r["processed"]).collect();
    assert_eq!(processed, [false, false, true], "{retractions:?}");
    assert_eq!(retractions[2]["received"]["report_id"], report_id, "{retractions:?}");
    assert_eq!(world.journal("submit").len(), 1);
    assert_eq!(world.journal("upload").len(), 1);
    assert_eq!(world.journal("finish").len(), 1, "the finish is never repeated");
    let retracts: Vec<(Actor, takedown::audit::Outcome)> = harness::audit_log(&world.daemon)
        .into_iter()
        .filter(|e| e.action == Action::Retract && e.case.is_some_and(|c| c.to_string() == case))
        .map(|e| (e.actor, e.outcome))
        .collect();
    assert_eq!(
        retracts.last(),
        Some(&(Actor::System, takedown::audit::Outcome::Done)),
        "the watchdog's retraction is audited as the appliance's: {retracts:?}"
    );
    let failed = retracts.iter().filter(|(_, o)| *o == takedown::audit::Outcome::Failed).count();
    assert_eq!(failed, 2, "both failures are audited: {retracts:?}");
}

/// The part of `page` in the section whose id is `id`.
fn section<'p>(page: &'p str, id: &str) -> Option<&'p str> {
    page.split(&format!("id=\"{id}\"")).nth(1).and_then(|rest| rest.split("</section>").next())
}

/// The hold named by the approver's confirmation form on `page`.
fn hold_of(page: &str) -> String {
    page.split("name=\"hold\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no confirmation form: {page}"))
        .to_owned()
}

#[tokio::test]
async fn an_image_whose_sha1_differs_from_the_wiki_is_sent_only_once_another_approver_confirms() {
    let world = World::start();
    let on_wiki = image();
    assert!(world.peers.peers.add_file(PeerService::Wiki, "Mismatch.jpg", "Cp uploader", &on_wiki));
    // cp-lead (child-protection and approver) prepares, the approver approves, cp-agent sends.
    let case = world.report("cp-lead", &["Mismatch.jpg"]).await;
    world.approve(&case).await;
    let other = image();
    // The sender's own waiver, ticked with the upload, is none: the images are held.
    let (status, page) = world.send(&case, &[&other], true).await;
    assert_eq!(status, 200, "back on the case page, not an error page: {page}");
    assert!(world.journal("submit").is_empty(), "the sender alone cannot waive the mismatch");
    let held =
        section(&page, "sha1-mismatch").unwrap_or_else(|| panic!("the held mismatch is shown: {page}"));
    assert!(held.contains("File 1: ") && held.contains("Mismatch.jpg"), "by number and wiki name: {held}");
    assert!(held.contains(&sha1(&other)) && held.contains(&sha1(&on_wiki)), "both SHA-1s: {held}");
    assert!(held.contains("held in locked memory until"), "{held}");
    assert!(held.contains("a person with the approver role who neither prepared"), "{held}");
    assert!(!held.contains("accept_sha1_mismatch"), "no box for the sender to tick: {held}");
    assert!(held.contains("Discard the held images"), "{held}");
    // Nor may the sender send the held images on their own word.
    let sender_waiver = [("action", "send"), ("accept_sha1_mismatch", "yes")];
    let (status, _, refused) =
        world.post("cp-agent", &format!("/cases/{case}/ncmec/held"), &sender_waiver).await;
    assert_eq!(status, 409, "{refused}");
    assert!(refused.contains("an approver must confirm"), "{refused}");
    // The approver sees which file differs, both SHA-1s and who sent it.
    let (_, approver_page) = world.get("approver", &format!("/cases/{case}")).await;
    let waiver = section(&approver_page, "sha1-waiver")
        .unwrap_or_else(|| panic!("the approver is asked to confirm: {approver_page}"));
    assert!(waiver.contains("File 1: ") && waiver.contains("Mismatch.jpg"), "{waiver}");
    assert!(waiver.contains(&sha1(&other)) && waiver.contains(&sha1(&on_wiki)), "both SHA-1s: {waiver}");
    assert!(waiver.contains("cp-agent"), "the sender is named: {waiver}");
    let hold = hold_of(waiver);
    let confirm = [("hold", hold.as_str()), ("decision", "confirm")];
    let waiver_path = format!("/cases/{case}/ncmec/held/waiver");
    let (status, _, _) = world.post("cp-agent", &waiver_path, &confirm).await;
    assert_eq!(status, 403, "the sender has no approver role");
    // The preparer, an approver too, is not a second person for their own report.
    let (_, lead_page) = world.get("cp-lead", &format!("/cases/{case}")).await;
    assert!(!lead_page.contains("ncmec/held/waiver"), "no confirmation form for the preparer: {lead_page}");
    let (status, _, refused) = world.post("cp-lead", &waiver_path, &confirm).await;
    assert_eq!(status, 409, "{refused}");
    assert!(refused.contains("you prepared this report"), "{refused}");
    assert!(world.journal("submit").is_empty(), "nothing reached NCMEC before the confirmation");
    // Another approver confirms: the held images are sent, without a second upload.
    let (status, _, page) = world.post("approver", &waiver_path, &confirm).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(submission_state(&page), "filed", "{page}");
    assert!(page.contains("data-wiki-hash=\"differs\""), "{page}");
    assert!(section(&page, "sha1-waiver").is_none(), "nothing is held any more: {page}");
    // Control: the confirmed send filed the report, with the held image as it was uploaded.
    let uploads = world.journal("upload");
    assert_eq!(uploads.len(), 1, "the held image reached NCMEC");
    let sent = &uploads[0]["received"]["file"];
    assert_eq!(sent["bytes"], other.len(), "{sent}");
    assert_eq!(sent["sha256"], sha256(&other), "the held image itself was sent: {sent}");
    let report_id = world.journal("submit")[0]["received"]["report_id"].as_u64().unwrap();
    assert_eq!(world.report_state(report_id), "finished", "NCMEC holds the report filed");
    assert!(page.contains(&format!("Report {report_id} filed with NCMEC")), "{page}");
    // The confirmation is a revision of the case, naming the approver, and audited.
    assert!(
        page.contains("Alex Rivera (approver): confirmed sending file 1 although its SHA-1 differs"),
        "{page}"
    );
    let audited = harness::audit_log(&world.daemon).into_iter().any(|e| {
        e.actor == Actor::Staff("approver".into())
            && e.action == Action::ReviseCase
            && e.details.contains("confirmed sending")
    });
    assert!(audited, "the confirmation is in the audit log");

    // A sender who is an approver cannot confirm their own images; an approver may refuse
    // them, and the sender may discard them.
    let again = world.report("cp-agent", &["Mismatch.jpg"]).await;
    world.approve(&again).await;
    let (status, page) = world.send_as("cp-lead", &again, &[&image()], false).await;
    assert!(status == 200 && page.contains("id=\"sha1-mismatch\""), "{page}");
    let (_, approver_page) = world.get("approver", &format!("/cases/{again}")).await;
    let hold = hold_of(&approver_page);
    let waiver_path = format!("/cases/{again}/ncmec/held/waiver");
    let (status, _, refused) =
        world.post("cp-lead", &waiver_path, &[("hold", hold.as_str()), ("decision", "confirm")]).await;
    assert_eq!(status, 409, "{refused}");
    assert!(refused.contains("you sent these images"), "{refused}");
    let (status, _, page) =
        world.post("approver", &waiver_path, &[("hold", hold.as_str()), ("decision", "refuse")]).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("refused sending file 1"), "the refusal is recorded: {page}");
    assert!(section(&page, "sha1-waiver").is_none(), "the refused images are dropped: {page}");
    let (_, page) = world.get("cp-lead", &format!("/cases/{again}")).await;
    assert!(!page.contains("id=\"sha1-mismatch\""), "{page}");
    let (status, page) = world.send_as("cp-lead", &again, &[&image()], false).await;
    assert!(status == 200 && page.contains("id=\"sha1-mismatch\""), "{page}");
    let (_, approver_page) = world.get("approver", &format!("/cases/{again}")).await;
    let hold = hold_of(&approver_page);
    let (status, _, page) =
        world.post("cp-lead", &format!("/cases/{again}/ncmec/held"), &[("action", "discard")]).await;
    assert!(status == 200 && !page.contains("id=\"sha1-mismatch\""), "discarded: {page}");
    let (status, _, _) =
        world.post("approver", &waiver_path, &[("hold", hold.as_str()), ("decision", "confirm")]).await;
    assert_eq!(status, 409, "nothing left to confirm");
    assert_eq!(world.journal("submit").len(), 1);
}

#[tokio::test]
async fn images_leave_no_trace_on_disk_in_the_store_or_in_memory_after_a_full_flow() {
    let world = World::start();
    let started = SystemTime::now() - Duration::from_secs(1);
    let sentinel = crate::sentinel::Sentinel::new();
    let mut first = image();
    first.extend_from_slice(sentinel.bytes());
    let mut second = sentinel.bytes().to_vec();
    second.extend(image());
    // The wiki's record of the first file differs, so the images are held first (in their
    // locked buffer), then sent from there once an approver confirms.
    assert!(world.peers.peers.add_file(PeerService::Wiki, "Sentinel one.jpg", "Cp uploader", &image()));
    let case = world.report("cp-agent", &["Sentinel one.jpg", "Sentinel two.jpg"]).await;
    world.approve(&case).await;
    let sockets_idle = crate::sentinel::idle_socket_count(&world.daemon).await;
    let (status, page) = world.send(&case, &[&first, &second], false).await;
    assert!(status == 200 && page.contains("id=\"sha1-mismatch\""), "held: {page}");
    // Control: while the images are held, the media check sees them — their buffer's mapping
    // and their share of the budget — so it would see a buffer kept after the flow as well.
    let (mappings, reserved) = crate::sentinel::media_held(&world.daemon).await;
    assert_eq!(mappings.len(), 1, "the held upload's one buffer: {mappings:#?}");
    assert!(reserved >= first.len() + second.len(), "the held upload's share: {reserved} bytes");
    let (_, approver_page) = world.get("approver", &format!("/cases/{case}")).await;
    let confirm = [("hold", hold_of(&approver_page)), ("decision", "confirm".to_owned())];
    let confirm: Vec<(&str, &str)> = confirm.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, _, page) =
        world.post("approver", &format!("/cases/{case}/ncmec/held/waiver"), &confirm).await;
    assert_eq!((status, submission_state(&page)), (200, "filed"), "{page}");
    let uploads = world.journal("upload");
    assert_eq!(uploads.len(), 2, "control: the images reached NCMEC");
    crate::sentinel::wait_for_sockets(world.daemon.pid(), sockets_idle).await;
    // Nothing under the test's directory (the data directory holds the store), nothing in
    // readable memory (the control is text the daemon's heap must hold), and no media left in
    // secret memory or the budget.
    crate::sentinel::assert_nowhere(&world.daemon, &sentinel, started, b"takedown-tests@example.org").await;
}

#[tokio::test]
async fn where_the_deployment_allows_it_a_file_is_deleted_and_its_old_versions_suppressed() {
    let world = World::start_with("\n[child_protection]\nsuppress_on_wiki = true\n");
    // The simulated wiki's Example.jpg has a current and an old version.
    let case = world.report("cp-agent", &["Example.jpg"]).await;
    let (_, page) = world.get("cp-agent", &format!("/cases/{case}")).await;
    assert!(page.contains("Connect your wiki account"), "{page}");
    let (status, _, page) = world.post("cp-agent", &format!("/cases/{case}/wiki/0"), &[]).await;
    assert_eq!(status, 409, "not without the staffer's own wiki grant: {page}");
    harness::connect_wiki(&world.daemon, &world.peers, "cp-agent").await;
    let (status, _, page) = world.post("cp-agent", &format!("/cases/{case}/wiki/0"), &[]).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("done: 1 old version(s) suppressed"), "{page}");
    assert!(page.contains("done: File:Example.jpg deleted"), "{page}");
    let wiki = world.peers.peers.journal(PeerService::Wiki);
    let actions: Vec<&str> = wiki.iter().filter_map(|e| e["endpoint"].as_str()).collect();
    assert!(actions.contains(&"action=revisiondelete") && actions.contains(&"action=delete"), "{actions:?}");
    let (status, _, _) = world.post("cp-agent", &format!("/cases/{case}/wiki/0"), &[]).await;
    assert_eq!(status, 409, "a deleted file is not deleted twice");
    // Without the setting, the route does not exist.
    let plain = World::start();
    let other = plain.report("cp-agent", &["Example.jpg"]).await;
    let (status, _, _) = plain.post("cp-agent", &format!("/cases/{other}/wiki/0"), &[]).await;
    assert_eq!(status, 404);
}

/// Posts a DMCA form with an error (nothing but the decision) and `document` attached, as
/// `dmca-agent`: the form comes back and holds the document. Returns the status.
async fn hold_dmca_document(world: &World, document: &[u8]) -> u16 {
    const DMCA: &str = "dmca-budget-boundary";
    let mut body = part(DMCA, "csrf_token", None);
    body.extend_from_slice(world.token("dmca-agent").await.as_bytes());
    body.extend_from_slice(b"\r\n");
    body.extend(part(DMCA, "decision", None));
    body.extend_from_slice(b"granted\r\n");
    body.extend(part(DMCA, "documents", Some("scan.pdf")));
    body.extend_from_slice(document);
    body.extend_from_slice(format!("\r\n--{DMCA}--\r\n").as_bytes());
    let response = world
        .daemon
        .client("dmca-agent")
        .post(world.daemon.url("/dmca/new"))
        .header("content-type", format!("multipart/form-data; boundary={DMCA}"))
        .header("sec-fetch-site", "same-origin")
        .body(body)
        .send()
        .await
        .unwrap();
    response.status().as_u16()
}

#[tokio::test]
async fn images_are_accepted_while_dmca_documents_hold_all_the_media_budget_they_may() {
    let world = World::start_with("\n[hardening]\nmedia_budget_mib = 1\n");
    let names = ["Budget one.jpg"];
    let mut picture = image();
    picture.extend(crate::sentinel::random_bytes(400_000));
    assert!(world.peers.peers.add_file(PeerService::Wiki, names[0], "Cp uploader", &picture));
    let case = world.report("cp-agent", &names).await;
    world.approve(&case).await;
    // Forms left with errors hold their documents: as much of the budget as DMCA may take.
    let document = crate::sentinel::random_bytes(400_000);
    assert_eq!(hold_dmca_document(&world, &document).await, 422, "the first form holds its document");
    let second = hold_dmca_document(&world, &document).await;
    assert_eq!(second, 503, "the second document does not fit in DMCA's half of the budget");
    // The images still fit, and go to NCMEC.
    let (status, page) = world.send(&case, &[&picture], false).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(submission_state(&page), "filed", "{page}");
}
