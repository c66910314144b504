//! The DMCA workflow end to end: the real daemon over mTLS, the simulated Lumen, Salesforce and
//! wiki in this process (so faults can be switched and what they received read back).

use std::time::{Duration, SystemTime};

use takedown::demo::services::{SimulatedServices, UNLISTED_WIKI_HOST};
use takedown_peers::{Fault, PeerService};

use crate::harness::{self, Daemon};

const BOUNDARY: &str = "dmca-test-boundary";

/// A daemon with its simulated services.
struct World {
    peers: SimulatedServices,
    daemon: Daemon,
}

impl World {
    fn start() -> Self {
        Self::start_with_roster(&[])
    }

    /// A world whose roster also lists `extra` (logins of the test PKI, with their roles).
    fn start_with_roster(extra: &[(&str, &[&str])]) -> Self {
        let (peers, daemon) = harness::start_with_simulated_services("dmca", "", extra);
        World { peers, daemon }
    }

    fn client(&self) -> reqwest::Client {
        self.daemon.client("dmca-agent")
    }

    async fn page(&self, path: &str) -> String {
        self.page_as("dmca-agent", path).await
    }

    async fn page_as(&self, login: &str, path: &str) -> String {
        let response = self.daemon.client(login).get(self.daemon.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        response.text().await.unwrap()
    }

    /// Posts the form (multipart: the CSRF token first, then `fields`, then `files` as
    /// `documents`) to `path`; returns the final status, URL and page.
    async fn post_multipart(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &[u8])],
    ) -> (u16, String, String) {
        self.post_multipart_as("dmca-agent", path, fields, files).await
    }

    /// [`World::post_multipart`] as `login`.
    async fn post_multipart_as(
        &self,
        login: &str,
        path: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &[u8])],
    ) -> (u16, String, String) {
        let token = harness::csrf_token(&self.page_as(login, "/dmca/new").await);
        let mut body = part_header("csrf_token", None);
        body.extend_from_slice(token.as_bytes());
        for (name, value) in fields {
            body.extend_from_slice(b"\r\n");
            body.extend(part_header(name, None));
            body.extend_from_slice(value.as_bytes());
        }
        for (name, bytes) in files {
            body.extend_from_slice(b"\r\n");
            body.extend(part_header("documents", Some(name)));
            body.extend_from_slice(bytes);
        }
        body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
        let response = self
            .daemon
            .client(login)
            .post(self.daemon.url(path))
            .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
            .header("sec-fetch-site", "same-origin")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let url = response.url().path().to_owned();
        (status, url, response.text().await.unwrap())
    }

    /// Posts a URL-encoded form from `page_path`'s CSRF token.
    async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> (u16, String, String) {
        let token = harness::csrf_token(&self.page("/dmca/new").await);
        let mut encoder = form_urlencoded::Serializer::new(String::new());
        encoder.append_pair("csrf_token", &token);
        for (name, value) in fields {
            encoder.append_pair(name, value);
        }
        let response = self
            .client()
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

    /// Waits until the start-up status check has reached NCMEC, Salesforce and the wiki.
    fn journal(&self, service: PeerService, endpoint: &str) -> Vec<serde_json::Value> {
        self.peers.peers.journal(service).into_iter().filter(|e| e["endpoint"] == endpoint).collect()
    }

    fn fault(&self, service: PeerService, endpoint: &str, fault: Fault) {
        self.peers.peers.set_fault(service, endpoint, fault);
    }

    /// Connects dmca-agent's wiki account.
    async fn connect_wiki(&self) {
        harness::connect_wiki(&self.daemon, &self.peers, "dmca-agent").await;
    }
}

fn part_header(name: &str, file_name: Option<&str>) -> Vec<u8> {
    match file_name {
        None => format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n"),
        Some(file) => format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\n\
             Content-Type: application/pdf\r\n\r\n"
        ),
    }
    .into_bytes()
}

/// A complete, granted Commons takedown that goes everywhere.
fn granted() -> Vec<(&'static str, &'static str)> {
    vec![
        ("send_to_lumen", "yes"),
        ("post_wiki_notices", "yes"),
        ("open_salesforce_case", "yes"),
        ("decision", "granted"),
        ("project", "commonswiki"),
        ("sender_name", "Acme Photo LLC"),
        ("sender_firm", "Law & Partners"),
        ("sender_country", "US"),
        ("date_sent", "2026-11-20"),
        ("method", "email"),
        ("to", "legal@wikimedia.org"),
        ("from", "counsel@acme.example"),
        ("subject", "Copyright infringement"),
        ("body", "Please remove our photographs."),
        ("involved_users", "UploaderName\nAnother Uploader"),
        ("affected_files", "File:Lighthouse.jpg\nBeach.jpg"),
        ("original_urls", "https://acme.example/lighthouse"),
        ("statement", "taken-down-dmca"),
        ("lumen_title", "DMCA (Copyright) Complaint to Wikimedia Foundation"),
        ("commons_title", "Acme lighthouse photographs"),
    ]
}

fn case_id(url: &str) -> &str {
    url.strip_prefix("/cases/").expect("sent to the case page")
}

/// The row of `step` in the case page's steps table.
fn step_row<'p>(page: &'p str, step: &str) -> &'p str {
    page.split(&format!("data-step=\"{step}\""))
        .nth(1)
        .and_then(|rest| rest.split("</tr>").next())
        .unwrap_or_else(|| panic!("no {step} row: {page}"))
}

/// The textarea text of the notice `key` on a case page, unescaped.
fn notice_text(page: &str, key: &str) -> String {
    let block =
        page.split(&format!("data-notice=\"{key}\"")).nth(1).unwrap_or_else(|| panic!("no notice {key}"));
    let text = block
        .split("<textarea name=\"text\"")
        .nth(1)
        .and_then(|rest| rest.split_once('>'))
        .unwrap()
        .1
        .split("</textarea>")
        .next()
        .unwrap();
    text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&amp;", "&")
}

fn notice_keys(page: &str) -> Vec<String> {
    page.split("data-notice=\"").skip(1).map(|rest| rest.split('"').next().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn a_granted_notice_with_two_documents_reaches_lumen_salesforce_and_every_wiki_notice() {
    let world = World::start();
    let form = world.page("/dmca/new").await;
    assert!(
        form.contains("value=\"commonswiki\"") && form.contains("enctype=\"multipart/form-data\""),
        "{form}"
    );
    let notice_pdf: &[u8] = b"%PDF-1.4 the notice as received";
    let scan: &[u8] = b"%PDF-1.4 a scan of the registration";
    let (status, url, page) = world
        .post_multipart("/dmca/new", &granted(), &[("notice.pdf", notice_pdf), ("scan.pdf", scan)])
        .await;
    assert_eq!(status, 200, "{page}");
    let id = case_id(&url).to_owned();
    assert!(step_row(&page, "lumen").contains("Done"), "{}", step_row(&page, "lumen"));
    assert!(step_row(&page, "salesforce").contains("Done"), "{}", step_row(&page, "salesforce"));
    assert!(!page.contains("data-step-earlier"), "a step's own start is no earlier attempt: {page}");
    assert!(!page.contains("Unknown — check the service"), "nothing reads as a failure: {page}");

    // Lumen got one notice with both documents attached.
    let notices = world.journal(PeerService::Lumen, "notices");
    assert_eq!(notices.len(), 1, "{notices:?}");
    let files = notices[0].to_string();
    for bytes in [notice_pdf, scan] {
        assert!(files.contains(&harness_sha256(bytes)), "a document is missing from Lumen's notice: {files}");
    }
    // One Salesforce Case, keyed by the case ID.
    let cases = world.peers.peers.snapshot(PeerService::Salesforce)["cases"].clone();
    assert_eq!(cases.as_array().unwrap().len(), 1, "{cases}");
    assert_eq!(cases[0]["external_id"], id.as_str());
    // The Case points at the notice; the documents themselves stay with Lumen.
    harness::assert_salesforce_got_no_file(&world.peers, &[notice_pdf, scan]);

    // Every wiki notice, posted with the staff member's own account. Not connected yet, a
    // notice is not posted at all: the bot's account, which the lookup may use for reads, is
    // never used instead.
    let page = world.page(&format!("/cases/{id}")).await;
    let keys = notice_keys(&page);
    let text = notice_text(&page, &keys[0]);
    world.post_form(&format!("/cases/{id}/notices/{}", keys[0]), &[("text", &text)]).await;
    assert!(world.journal(PeerService::Wiki, "action=edit").is_empty(), "a notice went out without a grant");
    world.connect_wiki().await;
    let page = world.page(&format!("/cases/{id}")).await;
    let keys = notice_keys(&page);
    let staff_account = page
        .split("Posting as your wiki account <strong>")
        .nth(1)
        .and_then(|rest| rest.split("</strong>").next())
        .unwrap_or_else(|| panic!("the case page names the account notices go out under: {page}"))
        .to_owned();
    assert_eq!(keys.len(), 5, "foundation page, noticeboard, village pump, two talk pages: {keys:?}");
    for key in &keys {
        let page = world.page(&format!("/cases/{id}")).await;
        let text = notice_text(&page, key);
        let (status, _, answer) =
            world.post_form(&format!("/cases/{id}/notices/{key}"), &[("text", &text)]).await;
        let answer = if answer.contains("name=\"captcha_id\"") {
            let captcha = answer
                .split("name=\"captcha_id\" value=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
                .to_owned();
            let word: String = captcha.chars().rev().collect();
            world
                .post_form(
                    &format!("/cases/{id}/notices/{key}"),
                    &[("text", &text), ("captcha_id", &captcha), ("captcha_word", &word)],
                )
                .await
                .2
        } else {
            assert_eq!(status, 200, "{answer}");
            answer
        };
        let block = answer
            .split(&format!("data-notice=\"{key}\""))
            .nth(1)
            .unwrap()
            .split("</section>")
            .next()
            .unwrap();
        assert!(block.contains("class=\"done\"") || block.contains("Done"), "{key}: {block}");
        assert!(block.contains("(revision "), "{key}: {block}");
    }
    let edits = world.journal(PeerService::Wiki, "action=edit");
    let saved: Vec<&serde_json::Value> =
        edits.iter().filter(|e| e["received"]["newrevid"].is_u64()).collect();
    assert_eq!(saved.len(), 5, "{edits:?}");
    // Who made each edit, as the wiki recorded it: the staff member, through their OAuth grant.
    for edit in &edits {
        assert_eq!(edit["received"]["auth"], "oauth", "an edit without the staffer's grant: {edit}");
        assert_eq!(edit["received"]["user"], staff_account.as_str(), "an edit by another account: {edit}");
    }
    let wiki = world.peers.peers.snapshot(PeerService::Wiki).to_string();
    for needle in [
        "Commons:Office actions/DMCA notices",
        "Commons:Village pump",
        "User talk:UploaderName",
        "User talk:Another Uploader",
        "Legal:DMCA Acme lighthouse photographs",
    ] {
        assert!(wiki.contains(needle), "{needle} was not edited");
    }
    // Both files are announced on every talk page, not only the first.
    let talk = notice_text(
        &world
            .page(&format!("/cases/{id}"))
            .await
            .replace("<pre class=\"text\">", "<textarea name=\"text\">")
            .replace("</pre>", "</textarea>"),
        &keys[3],
    );
    assert!(talk.contains("Lighthouse.jpg") && talk.contains("Beach.jpg"), "{talk}");
    // A done notice cannot be posted twice.
    let (status, _, _) =
        world.post_form(&format!("/cases/{id}/notices/{}", keys[0]), &[("text", "again")]).await;
    assert_eq!(status, 409);
}

fn harness_sha256(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(bytes))
}

#[tokio::test]
async fn a_denied_request_is_logged_with_nothing_else_required_or_sent() {
    let world = World::start();
    let (status, url, page) = world
        .post_multipart(
            "/dmca/new",
            &[("decision", "denied"), ("send_to_lumen", "yes"), ("post_wiki_notices", "yes")],
            &[],
        )
        .await;
    assert_eq!(status, 200, "{page}");
    assert!(url.starts_with("/cases/"), "{url}");
    assert!(page.contains("Denied (content kept)"), "{page}");
    assert!(step_row(&page, "lumen").contains("Skipped") && step_row(&page, "lumen").contains("denied"));
    assert!(step_row(&page, "salesforce").contains("Skipped"));
    assert!(world.journal(PeerService::Lumen, "notices").is_empty());
    assert!(world.journal(PeerService::Salesforce, "case-upsert").is_empty());
    assert!(world.journal(PeerService::Wiki, "action=edit").is_empty());
    assert!(notice_keys(&page).is_empty(), "a denied request is announced nowhere");
    // It is in the log of cases like any other.
    let cases = world.page("/cases").await;
    assert!(cases.contains(case_id(&url)), "{cases}");
}

#[tokio::test]
async fn a_name_typed_with_a_right_to_left_override_reads_in_stored_order_on_the_case_page() {
    let world = World::start();
    // Displayed raw, U+202E would show this sender as "Acme exe.gpj Photo" reordered.
    let sender = "Acme \u{202E}gpj.exe Photo";
    let (status, url, page) =
        world.post_multipart("/dmca/new", &[("decision", "denied"), ("sender_name", sender)], &[]).await;
    assert_eq!(status, 200, "{page}");
    assert!(url.starts_with("/cases/"), "{url}");
    assert!(page.contains("Acme [U+202E]gpj.exe Photo"), "the control is shown where it was typed: {page}");
    assert!(!page.contains('\u{202E}'), "no override reaches the page's text: {page}");
}

#[tokio::test]
async fn a_lumen_only_notice_goes_to_lumen_and_nowhere_else() {
    let world = World::start();
    let fields: Vec<(&str, &str)> = granted()
        .into_iter()
        .filter(|(name, _)| !matches!(*name, "post_wiki_notices" | "open_salesforce_case"))
        .collect();
    let (status, _, page) = world.post_multipart("/dmca/new", &fields, &[]).await;
    assert_eq!(status, 200, "{page}");
    assert!(step_row(&page, "lumen").contains("Done"));
    assert!(step_row(&page, "salesforce").contains("Skipped"));
    assert_eq!(world.journal(PeerService::Lumen, "notices").len(), 1);
    assert!(world.journal(PeerService::Salesforce, "case-upsert").is_empty());
    assert!(notice_keys(&page).is_empty());
}

#[tokio::test]
async fn missing_lumen_fields_are_shown_next_to_their_fields_and_everything_typed_is_kept() {
    let world = World::start();
    let fields: Vec<(&str, &str)> =
        granted().into_iter().filter(|(name, _)| !matches!(*name, "sender_name" | "subject")).collect();
    let (status, url, page) = world.post_multipart("/dmca/new", &fields, &[("kept.pdf", b"%PDF kept")]).await;
    assert_eq!((status, url.as_str()), (422, "/dmca/new"), "{page}");
    for field in ["sender_name", "subject"] {
        let block =
            page.split(&format!("data-field=\"{field}\"")).nth(1).unwrap().split("</div>").next().unwrap();
        assert!(block.contains("class=\"error\""), "{field}: {block}");
    }
    assert!(page.contains("Please remove our photographs.") && page.contains("Acme lighthouse photographs"));
    assert!(page.contains("Attached: kept.pdf"), "the document is held, not asked for again");
    assert!(
        world.journal(PeerService::Lumen, "notices").is_empty(),
        "nothing is sent before the form is right"
    );
    // Sent again with the held documents' key and the missing fields: both documents go out.
    let key =
        page.split("name=\"held_documents\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let mut fixed = granted();
    fixed.push(("held_documents", &key));
    let (status, url, page) =
        world.post_multipart("/dmca/new", &fixed, &[("second.pdf", b"%PDF second")]).await;
    assert_eq!(status, 200, "{page}");
    assert!(url.starts_with("/cases/"));
    assert!(page.contains("kept.pdf") && page.contains("second.pdf"), "{page}");
    let notice = world.journal(PeerService::Lumen, "notices")[0].to_string();
    assert!(
        notice.contains(&harness_sha256(b"%PDF kept")) && notice.contains(&harness_sha256(b"%PDF second")),
        "{notice}"
    );
}

#[tokio::test]
async fn a_lumen_422_shows_its_field_errors_and_the_form_comes_back_filled_for_a_correction() {
    let world = World::start();
    world.fault(
        PeerService::Lumen,
        "notices",
        Fault {
            status: Some(422),
            body: Some(r#"{"notices":{"title":["is too similar to an existing notice"]}}"#.into()),
            content_type: Some("application/json".into()),
            times: Some(1),
            ..Fault::default()
        },
    );
    let (status, url, page) =
        world.post_multipart("/dmca/new", &granted(), &[("notice.pdf", b"%PDF 422")]).await;
    assert_eq!(status, 200, "{page}");
    let id = case_id(&url).to_owned();
    let row = step_row(&page, "lumen");
    assert!(row.contains("Failed") && row.contains("422") && row.contains("title"), "{row}");
    let form = world.page(&format!("/cases/{id}/edit")).await;
    assert!(form.contains("Lumen&#39;s last answer") || form.contains("Lumen's last answer"), "{form}");
    let title_field =
        form.split(r#"data-field="lumen_title""#).nth(1).and_then(|rest| rest.split("</div>").next());
    assert!(
        title_field.is_some_and(|f| f.contains("is too similar to an existing notice")),
        "Lumen's refusal is shown next to the title field: {title_field:?}"
    );
    assert!(form.contains(r#"class="field invalid" data-field="lumen_title""#), "{form}");
    assert!(
        form.contains("Acme Photo LLC")
            && form.contains("Please remove our photographs.")
            && form.contains("Attached: notice.pdf")
    );
    let mut corrected = granted();
    corrected.retain(|(name, _)| *name != "lumen_title");
    corrected.push(("lumen_title", "DMCA notice regarding Acme lighthouse photographs"));
    let (status, _, page) = world.post_multipart(&format!("/cases/{id}/edit"), &corrected, &[]).await;
    assert_eq!(status, 200, "{page}");
    assert!(step_row(&page, "lumen").contains("Done"), "{}", step_row(&page, "lumen"));
    assert!(
        page.contains("Revision 1: created") && page.contains(": correction"),
        "the correction is a revision"
    );
    let changed =
        page.split("What this correction changed").nth(1).and_then(|rest| rest.split("</table>").next());
    assert!(
        changed.is_some_and(|c| c.contains(r#"data-changed="lumen_title""#)
            && c.contains("DMCA notice regarding Acme lighthouse photographs")
            && !c.contains(r#"data-changed="sender › name""#)),
        "the correction's history shows the title it changed, and only that: {changed:?}"
    );
    let sent = world.journal(PeerService::Lumen, "notices");
    assert_eq!(sent.len(), 2, "the refused notice and the corrected one");
    assert!(
        sent[1].to_string().contains(&harness_sha256(b"%PDF 422")),
        "the held document went with the correction"
    );
    let cases = world.peers.peers.snapshot(PeerService::Salesforce)["cases"].clone();
    assert_eq!(
        cases.as_array().unwrap().len(),
        1,
        "the correction updated the same Salesforce case: {cases}"
    );
}

#[tokio::test]
async fn salesforce_down_leaves_a_failed_step_that_a_retry_completes_without_a_duplicate() {
    let world = World::start();
    world.fault(
        PeerService::Salesforce,
        "case-upsert",
        Fault { status: Some(503), times: Some(1), ..Fault::default() },
    );
    let (status, url, page) = world.post_multipart("/dmca/new", &granted(), &[]).await;
    assert_eq!(status, 200, "{page}");
    let id = case_id(&url).to_owned();
    let row = step_row(&page, "salesforce");
    assert!(row.contains("Failed") && row.contains("Retry"), "{row}");
    assert!(step_row(&page, "lumen").contains("Done"), "Lumen is not undone by Salesforce failing");
    let (status, _, page) = world.post_multipart(&format!("/cases/{id}/steps/salesforce"), &[], &[]).await;
    assert_eq!(status, 200, "{page}");
    assert!(step_row(&page, "salesforce").contains("Done"), "{}", step_row(&page, "salesforce"));
    assert!(page.contains("data-step-earlier=\"salesforce\""), "the failed attempt stays in view");
    // The Lumen step is done: retrying it is refused, so no second notice.
    let (status, _, _) =
        world.post_multipart(&format!("/cases/{id}/steps/lumen"), &[("confirm", "yes")], &[]).await;
    assert_eq!(status, 409);
    assert_eq!(world.journal(PeerService::Lumen, "notices").len(), 1);
    let cases = world.peers.peers.snapshot(PeerService::Salesforce)["cases"].clone();
    assert_eq!(cases.as_array().unwrap().len(), 1, "{cases}");
    assert_eq!(world.journal(PeerService::Salesforce, "case-upsert").len(), 2);
}

#[tokio::test]
async fn a_lumen_server_error_is_unknown_and_is_sent_again_only_when_confirmed() {
    let world = World::start();
    world.fault(
        PeerService::Lumen,
        "notices",
        Fault { status: Some(500), times: Some(1), ..Fault::default() },
    );
    let (_, url, page) = world.post_multipart("/dmca/new", &granted(), &[]).await;
    let id = case_id(&url).to_owned();
    let row = step_row(&page, "lumen");
    assert!(row.contains("Unknown") && row.contains("check Lumen"), "{row}");
    let (status, _, _) = world.post_multipart(&format!("/cases/{id}/steps/lumen"), &[], &[]).await;
    assert_eq!(status, 409, "not without the confirmation");
    assert_eq!(world.journal(PeerService::Lumen, "notices").len(), 1);
    let (status, _, page) =
        world.post_multipart(&format!("/cases/{id}/steps/lumen"), &[("confirm", "yes")], &[]).await;
    assert_eq!(status, 200);
    assert!(step_row(&page, "lumen").contains("Done"));
    assert_eq!(world.journal(PeerService::Lumen, "notices").len(), 2);
    let earlier: Vec<&str> = page.split("data-step-earlier=\"lumen\"").skip(1).collect();
    assert_eq!(earlier.len(), 1, "the unanswered try, not the retry's own start: {page}");
    assert!(earlier[0].contains("no answer, so it may or may not have been done"), "{}", earlier[0]);
}

#[tokio::test]
async fn injection_in_every_text_field_comes_out_inert_in_the_page_the_notices_and_lumen() {
    let world = World::start();
    let payload = "<script>alert(1)</script>{{Delete}}[[Category:Injected]][https://evil.example x]~~~~'''b'''__NOTOC__";
    // The sender's fields hold at most 63 characters.
    let short = "<script>x</script>{{Delete}}[[Category:Injected]]~~~~__NOTOC__";
    let mut fields = granted();
    for (name, value) in fields.iter_mut() {
        if matches!(*name, "to" | "from" | "subject" | "body" | "lumen_title" | "commons_title") {
            *value = payload;
        }
        if matches!(*name, "sender_name" | "sender_firm") {
            *value = short;
        }
        let _ = name;
    }
    fields.push(("sender_person", short));
    fields.push(("sender_city", "Springfield</td><img src=x onerror=alert(2)>"));
    let (status, url, page) =
        world.post_multipart("/dmca/new", &fields, &[("<b>x</b>.pdf", b"%PDF inj")]).await;
    assert_eq!(status, 200, "{page}");
    assert!(
        !page.contains("<script>alert") && !page.contains("<img src=x") && !page.contains("<b>x</b>"),
        "HTML came through"
    );
    let id = case_id(&url).to_owned();
    let lumen = world.journal(PeerService::Lumen, "notices");
    assert_eq!(lumen.len(), 1);
    // Lumen is a database, not a wiki or a page: what it gets must be exactly what was typed,
    // each value in its own field (nothing escaped twice, nothing spilled into another field or
    // another entity), and the document byte for byte.
    let notices = world.peers.peers.snapshot(PeerService::Lumen)["notices"].clone();
    assert_eq!(notices.as_array().map(Vec::len), Some(1), "{notices}");
    let notice = &notices[0];
    for (field, typed) in [("title", payload), ("subject", payload), ("body", payload)] {
        assert_eq!(notice[field], typed, "Lumen's {field}: {notice}");
    }
    let roles = notice["entity_notice_roles_attributes"].as_array().unwrap();
    let entity = |role: &str| {
        let found: Vec<_> = roles.iter().filter(|r| r["name"] == role).collect();
        assert_eq!(found.len(), 1, "one {role}: {roles:?}");
        found[0]["entity_attributes"].clone()
    };
    assert_eq!(entity("sender")["name"], short);
    assert_eq!(entity("sender")["city"], "Springfield</td><img src=x onerror=alert(2)>");
    assert_eq!(entity("agent")["name"], short, "the firm");
    assert_eq!(entity("attorney")["name"], short, "the person");
    assert_eq!(roles.len(), 5, "sender, recipient, submitter, agent, attorney and no other: {roles:?}");
    let uploads = notice["file_uploads_attributes"].as_array().unwrap();
    assert_eq!(uploads.len(), 1, "{uploads:?}");
    assert_eq!(uploads[0]["kind"], "original");
    let data = uploads[0]["file"].as_str().unwrap().split_once(";base64,").unwrap().1;
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD.decode(data).unwrap();
    assert_eq!(harness_sha256(&bytes), harness_sha256(b"%PDF inj"), "the document Lumen got");
    world.connect_wiki().await;
    let page = world.page(&format!("/cases/{id}")).await;
    for key in notice_keys(&page) {
        let text = notice_text(&page, &key);
        for bad in
            ["<script", "{{Delete", "[[Category:Injected", "[https://evil", "__NOTOC__", "https://evil"]
        {
            assert!(!text.contains(bad), "{key} carries {bad}: {text}");
        }
        // Bold quotes are inert only inside the notice's <pre> block (MediaWiki reads it like
        // <nowiki>); everywhere else they must be escaped.
        let outside_pre: String = text
            .split("<pre>")
            .enumerate()
            .map(
                |(i, part)| {
                    if i == 0 { part } else { part.split_once("</pre>").map_or("", |(_, after)| after) }
                },
            )
            .collect();
        assert!(!outside_pre.contains("'''b'''"), "{key} carries bold quotes: {text}");
        assert_eq!(
            text.matches("</pre>").count(),
            text.matches("<pre>").count(),
            "{key}: the <pre> block was broken"
        );
        assert_eq!(
            text.matches("~~~~").count(),
            usize::from(key != "foundation-page"),
            "{key}: only the appliance's own signature: {text}"
        );
    }
    // URLs: only http(s) original works, only configured wiki domains.
    let mut bad = granted();
    bad.retain(|(name, _)| *name != "original_urls" && *name != "project");
    bad.extend([
        ("original_urls", "javascript:alert(1)"),
        ("project", "other"),
        ("project_other", "evil.example"),
    ]);
    let (status, _, page) = world.post_multipart("/dmca/new", &bad, &[]).await;
    assert_eq!(status, 422);
    assert!(
        page.contains("data-field=\"original_urls\"")
            && page.contains("id=\"original_urls-error\"")
            && page.contains("id=\"project_other-error\""),
        "{page}"
    );
}

#[tokio::test]
async fn a_child_protection_certificate_cannot_open_the_form_or_any_dmca_case() {
    let world = World::start();
    let (_, url, _) = world.post_multipart("/dmca/new", &[("decision", "denied")], &[]).await;
    let cp = world.daemon.client("cp-agent");
    assert!(url.starts_with("/cases/"), "{url}");
    for path in ["/dmca/new".to_owned(), url.clone(), format!("{url}/edit")] {
        let response = cp.get(world.daemon.url(&path)).send().await.unwrap();
        assert_eq!(response.status(), 403, "{path}");
    }
    let home = cp.get(world.daemon.url("/")).send().await.unwrap().text().await.unwrap();
    assert!(!home.contains("/dmca/new"), "the navigation does not offer it");
    let list = cp.get(world.daemon.url("/cases")).send().await.unwrap().text().await.unwrap();
    assert!(!list.contains(case_id(&url)), "the list hides it");
}

#[tokio::test]
async fn supporting_documents_leave_no_trace_on_disk_or_in_memory_once_sent() {
    let world = World::start();
    let started = SystemTime::now() - Duration::from_secs(1);
    let sentinel = crate::sentinel::Sentinel::new();
    let mut document = b"%PDF-1.4 ".to_vec();
    document.extend_from_slice(sentinel.bytes());
    // The start-up status checks open connections of their own: the baseline is taken once
    // they are done and have closed.
    let sockets_idle = crate::sentinel::idle_socket_count(&world.daemon).await;
    let (status, url, page) =
        world.post_multipart("/dmca/new", &granted(), &[("sentinel.pdf", &document)]).await;
    assert_eq!(status, 200, "{page}");
    assert!(step_row(&page, "lumen").contains("Done"), "sent, so no longer held");
    assert!(url.starts_with("/cases/"));
    assert!(
        world.journal(PeerService::Lumen, "notices")[0].to_string().contains(&harness_sha256(&document)),
        "control: the document did reach Lumen"
    );
    // The test's client is gone; once the daemon has closed its connections, nothing may remain.
    crate::sentinel::wait_for_sockets(world.daemon.pid(), sockets_idle).await;
    // Nothing under the test's directory (the data directory holds the store), nothing in
    // readable memory (the control is text the daemon's heap must hold), and no media left in
    // secret memory or the budget.
    crate::sentinel::assert_nowhere(&world.daemon, &sentinel, started, b"takedown-tests@example.org").await;
}

#[tokio::test]
async fn a_wiki_captcha_is_shown_with_the_text_kept_and_its_answer_posts_the_notice() {
    let world = World::start();
    // A staff account without `skipcaptcha`: adding external links asks for a CAPTCHA.
    assert!(world.peers.peers.set_user_groups(PeerService::Wiki, "Dana Mercer (WMF)", &[]));
    let (_, url, _) = world.post_multipart("/dmca/new", &granted(), &[]).await;
    let id = case_id(&url).to_owned();
    world.connect_wiki().await;
    // The foundation page links the affected files as external links: a CAPTCHA for this account.
    let key = "foundation-page";
    let page = world.page(&format!("/cases/{id}")).await;
    let edited = format!("{}\nA line the staffer added.", notice_text(&page, key));
    let (status, _, answer) =
        world.post_form(&format!("/cases/{id}/notices/{key}"), &[("text", &edited)]).await;
    assert_eq!(status, 200);
    let captcha = answer
        .split("name=\"captcha_id\" value=\"")
        .nth(1)
        .expect("a CAPTCHA is asked for")
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    assert!(answer.contains("The wiki asks for a CAPTCHA"), "{answer}");
    assert_eq!(notice_text(&answer, key), edited, "the edited text is kept");
    assert!(
        world.journal(PeerService::Wiki, "action=edit").iter().all(|e| !e["received"]["newrevid"].is_u64()),
        "nothing saved yet"
    );
    // A wrong answer: a new CAPTCHA, still nothing saved.
    let (_, _, again) = world
        .post_form(
            &format!("/cases/{id}/notices/{key}"),
            &[("text", &edited), ("captcha_id", &captcha), ("captcha_word", "wrong")],
        )
        .await;
    let second = again
        .split("name=\"captcha_id\" value=\"")
        .nth(1)
        .expect("another CAPTCHA")
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    assert_ne!(second, captcha);
    let word: String = second.chars().rev().collect();
    let (_, _, done) = world
        .post_form(
            &format!("/cases/{id}/notices/{key}"),
            &[("text", &edited), ("captcha_id", &second), ("captcha_word", &word)],
        )
        .await;
    let block =
        done.split(&format!("data-notice=\"{key}\"")).nth(1).unwrap().split("</section>").next().unwrap();
    assert!(block.contains("(revision "), "{block}");
    let saved: Vec<serde_json::Value> = world
        .journal(PeerService::Wiki, "action=edit")
        .into_iter()
        .filter(|e| e["received"]["newrevid"].is_u64())
        .collect();
    assert_eq!(saved.len(), 1, "{saved:?}");
    let wiki = world.peers.peers.snapshot(PeerService::Wiki).to_string();
    assert!(wiki.contains("A line the staffer added."), "the reviewed text was posted");
}

#[tokio::test]
async fn the_case_log_filters_by_decision_test_and_staff_and_opens_a_case_by_its_id() {
    let world = World::start();
    let (_, granted_url, _) = world.post_multipart("/dmca/new", &granted(), &[]).await;
    let (_, denied_url, _) =
        world.post_multipart("/dmca/new", &[("decision", "denied"), ("test", "yes")], &[]).await;
    let (granted_id, denied_id) = (case_id(&granted_url).to_owned(), case_id(&denied_url).to_owned());
    let list = world.page("/cases?decision=denied").await;
    assert!(list.contains(&denied_id) && !list.contains(&granted_id), "{list}");
    let list = world.page("/cases?kind=dmca&test=no").await;
    assert!(list.contains(&granted_id) && !list.contains(&denied_id), "{list}");
    assert!(list.contains("Acme lighthouse photographs"), "the title identifies the case: {list}");
    let list = world.page("/cases?staff=someone-else").await;
    assert!(!list.contains(&granted_id) && !list.contains(&denied_id));
    let list = world.page("/cases?sort=oldest").await;
    let (first, second) = (list.find(&granted_id).unwrap(), list.find(&denied_id).unwrap());
    assert!(first < second, "oldest first");
    let list = world.page("/cases").await;
    assert!(list.find(&denied_id).unwrap() < list.find(&granted_id).unwrap(), "newest first by default");
    // Lookup by ID opens the case; an unknown ID says so.
    let response =
        world.client().get(world.daemon.url(&format!("/cases?id={granted_id}"))).send().await.unwrap();
    assert_eq!(response.url().path(), granted_url);
    let unknown = world.page("/cases?id=00000000000000000000000000000000").await;
    assert!(unknown.contains("No case you may open has the ID"), "{unknown}");
    // A child-protection certificate's lookup of a DMCA case finds nothing it may open.
    let cp = world.daemon.client("cp-agent");
    let page = cp.get(world.daemon.url(&format!("/cases?id={granted_id}"))).send().await.unwrap();
    assert_eq!(page.url().path(), "/cases");
}

/// The fields of a form whose affected files the simulated wiki knows in each state: live on
/// the project, kept on Commons, deleted, partly hidden, and never uploaded.
fn lookup_form(action: Option<&'static str>) -> Vec<(&'static str, &'static str)> {
    let mut fields = granted();
    fields.retain(|(name, _)| !matches!(*name, "project" | "affected_files" | "involved_users"));
    fields.extend([
        ("project", "enwiki"),
        (
            "affected_files",
            "File:Example.jpg\nShared example.jpg\nDeleted example.jpg\nHidden example.jpg\nNo such file.jpg",
        ),
        ("involved_users", "Someone else"),
    ]);
    fields.extend(action.map(|action| ("action", action)));
    fields
}

/// The table row of one looked-up file (up to the next file's row).
fn file_row<'p>(page: &'p str, file: &str) -> &'p str {
    let marker = format!(r#"data-file="{file}""#);
    let rest = page.split(marker.as_str()).nth(1).unwrap_or_else(|| panic!("no row for {file}: {page}"));
    rest.split("data-file=").next().unwrap_or(rest).split("</table>").next().unwrap_or(rest)
}

#[tokio::test]
async fn the_affected_files_are_looked_up_on_the_wiki_their_uploaders_offered_and_the_facts_recorded() {
    let world = World::start();
    // Before the staffer connects, the archive is read as the bot, which may not see it: the
    // deleted file is then not called "not found".
    let (status, _, page) = world.post_multipart("/dmca/new", &lookup_form(Some("lookup")), &[]).await;
    assert_eq!(status, 200, "{page}");
    let deleted = file_row(&page, "Deleted example.jpg");
    assert!(deleted.contains("the deletion archive could not be read"), "{deleted}");
    assert!(page.contains("permissiondenied"), "the reason is on the page: {page}");
    world.connect_wiki().await;
    let wiki = world.peers.peers.snapshot(PeerService::Wiki);
    let sha1_of = |list: &str, name: &str| -> Vec<String> {
        wiki[list]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["title"] == format!("File:{name}") || f["name"] == name.replace(' ', "_"))
            .flat_map(|f| match f["versions"].as_array() {
                Some(versions) => versions.iter().map(|v| v["sha1"].as_str().unwrap().to_owned()).collect(),
                None => vec![f["sha1"].as_str().unwrap().to_owned()],
            })
            .collect()
    };

    let (status, url, page) = world
        .post_multipart("/dmca/new", &lookup_form(Some("lookup")), &[("notice.pdf", b"%PDF lookup")])
        .await;
    assert_eq!((status, url.as_str()), (200, "/dmca/new"), "a lookup records nothing: {page}");
    let example = file_row(&page, "Example.jpg");
    assert!(example.contains(r#"data-state="on the wiki""#) && example.contains("en.wiki.test"), "{example}");
    for sha1 in sha1_of("files", "Example.jpg") {
        assert!(example.contains(&sha1), "every version's SHA-1 ({sha1}): {example}");
    }
    assert!(example.contains("Example uploader") && example.contains("Old uploader"), "{example}");
    let shared = file_row(&page, "Shared example.jpg");
    assert!(shared.contains("commons.wiki.test"), "a file kept on Commons is asked of Commons: {shared}");
    assert!(shared.contains(&sha1_of("files", "Shared example.jpg")[0]), "{shared}");
    let deleted = file_row(&page, "Deleted example.jpg");
    assert!(deleted.contains(r#"data-state="deleted""#), "{deleted}");
    for sha1 in sha1_of("filearchive", "Deleted example.jpg") {
        assert!(deleted.contains(&sha1), "the deletion archive's SHA-1 ({sha1}): {deleted}");
    }
    assert!(file_row(&page, "No such file.jpg").contains(r#"data-state="not found""#));
    assert!(file_row(&page, "Hidden example.jpg").contains("hidden"));
    assert!(
        page.contains(r#"name="offer_user" value="Example uploader""#)
            && page.contains(r#"name="offer_user" value="Old uploader""#)
            && !page.contains(r#"name="offer_user" value="Someone else""#),
        "the uploaders are offered as involved users: {page}"
    );
    let uploader =
        page.split(r#"data-uploader="Example uploader""#).nth(1).unwrap().split("</li>").next().unwrap();
    assert!(uploader.contains("global account #") && uploader.contains("home commonswiki"), "{uploader}");
    assert!(page.contains("Attached: notice.pdf"), "the document stays held through a lookup");
    assert!(page.contains("Someone else"), "what was typed is kept");

    let key =
        page.split(r#"name="held_documents" value=""#).nth(1).unwrap().split('"').next().unwrap().to_owned();
    let mut fields = lookup_form(None);
    fields.retain(|(name, _)| *name != "affected_files");
    fields.extend([
        ("affected_files", "Example.jpg\nShared example.jpg\nDeleted example.jpg"),
        ("held_documents", key.as_str()),
        ("offer_user", "Example uploader"),
    ]);
    let (status, url, page) = world.post_multipart("/dmca/new", &fields, &[]).await;
    assert_eq!(status, 200, "{page}");
    assert!(url.starts_with("/cases/"), "{url}");
    let recorded = file_row(&page, "Example.jpg");
    assert!(recorded.contains(&sha1_of("files", "Example.jpg")[0]), "the facts are recorded: {recorded}");
    assert!(!page.contains(r#"data-file="No such file.jpg""#), "only files still named are recorded");
    assert!(
        page.contains("User talk:Example uploader") && page.contains("User talk:Someone else"),
        "the ticked uploader joined the involved users"
    );
    assert!(!page.contains("User talk:Old uploader"), "an uploader left unticked is not added");
}

/// The key of the documents a form holds, from its hidden field.
fn held_key(page: &str) -> String {
    page.split("name=\"held_documents\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no held_documents field: {page}"))
        .to_owned()
}

/// How many of the notices Lumen received carry a document with these bytes.
fn lumen_got(world: &World, bytes: &[u8]) -> usize {
    let sha = harness_sha256(bytes);
    world.journal(PeerService::Lumen, "notices").iter().filter(|n| n.to_string().contains(&sha)).count()
}

#[tokio::test]
async fn two_concurrent_retries_of_lumen_or_posts_of_a_notice_reach_the_service_once() {
    let world = World::start();
    world.fault(
        PeerService::Lumen,
        "notices",
        Fault { status: Some(422), times: Some(1), ..Fault::default() },
    );
    let document: &[u8] = b"%PDF-1.4 the notice, retried twice at once";
    let (status, url, page) =
        world.post_multipart("/dmca/new", &granted(), &[("notice.pdf", document)]).await;
    assert_eq!(status, 200, "{page}");
    let id = case_id(&url).to_owned();
    assert!(step_row(&page, "lumen").contains("Failed"), "{}", step_row(&page, "lumen"));
    assert_eq!(world.journal(PeerService::Lumen, "notices").len(), 1);

    // Two clicks on "Retry Lumen" (one with the confirmation a staffer gives after checking
    // Lumen), while Lumen takes its time to answer the first.
    world.fault(PeerService::Lumen, "notices", Fault::delay(Duration::from_millis(1500)));
    let retry = format!("/cases/{id}/steps/lumen");
    let (first, second) = tokio::join!(
        world.post_multipart(&retry, &[("confirm", "yes")], &[]),
        world.post_multipart(&retry, &[("confirm", "yes")], &[]),
    );
    let mut statuses = [first.0, second.0];
    statuses.sort_unstable();
    assert_eq!(
        world.journal(PeerService::Lumen, "notices").len(),
        2,
        "the refused notice and exactly one retry reached Lumen (statuses {statuses:?})"
    );
    assert_eq!(statuses, [200, 409], "one retry ran, the other was refused");
    let refused = if first.0 == 409 { &first.2 } else { &second.2 };
    assert!(refused.contains("running right now") && refused.contains("nothing more was sent"), "{refused}");
    let page = world.page(&format!("/cases/{id}")).await;
    assert!(step_row(&page, "lumen").contains("Done"), "{}", step_row(&page, "lumen"));

    // Two posts of the same wiki notice at once.
    world.connect_wiki().await;
    let key = notice_keys(&page).into_iter().next().expect("a notice");
    let text = notice_text(&page, &key);
    world.fault(PeerService::Wiki, "action=edit", Fault::delay(Duration::from_millis(1500)));
    let post = format!("/cases/{id}/notices/{key}");
    let fields = [("text", text.as_str()), ("confirm", "yes")];
    let (first, second) = tokio::join!(world.post_form(&post, &fields), world.post_form(&post, &fields));
    let mut statuses = [first.0, second.0];
    statuses.sort_unstable();
    assert_eq!(
        world.journal(PeerService::Wiki, "action=edit").len(),
        1,
        "exactly one edit reached the wiki (statuses {statuses:?})"
    );
    assert_eq!(statuses, [200, 409], "one post ran, the other was refused");
    let refused = if first.0 == 409 { &first.2 } else { &second.2 };
    assert!(refused.contains("running right now") && refused.contains("nothing more was sent"), "{refused}");
}

#[tokio::test]
async fn a_lumen_retry_with_other_documents_than_the_case_recorded_sends_nothing() {
    let world = World::start();
    world.fault(
        PeerService::Lumen,
        "notices",
        Fault { status: Some(422), times: Some(1), ..Fault::default() },
    );
    let recorded: &[u8] = b"%PDF-1.4 the notice the case recorded";
    let other: &[u8] = b"%PDF-1.4 another document entirely";
    let (status, url, page) =
        world.post_multipart("/dmca/new", &granted(), &[("notice.pdf", recorded)]).await;
    assert_eq!(status, 200, "{page}");
    let id = case_id(&url).to_owned();
    assert_eq!(world.journal(PeerService::Lumen, "notices").len(), 1);
    let retry = format!("/cases/{id}/steps/lumen");

    // The right count, the recorded name, other bytes; then the recorded bytes under another name.
    for attached in [("notice.pdf", other), ("renamed.pdf", recorded)] {
        let (status, _, page) = world.post_multipart(&retry, &[], &[attached]).await;
        assert_eq!(status, 200, "{page}");
        let row = step_row(&page, "lumen");
        assert!(row.contains("Failed") && row.contains("not the documents the case recorded"), "{row}");
        assert_eq!(
            world.journal(PeerService::Lumen, "notices").len(),
            1,
            "nothing reached Lumen with {}",
            attached.0
        );
    }
    assert_eq!(lumen_got(&world, other), 0);

    // The recorded document, attached again: sent.
    let (status, _, page) = world.post_multipart(&retry, &[], &[("notice.pdf", recorded)]).await;
    assert_eq!(status, 200, "{page}");
    assert!(step_row(&page, "lumen").contains("Done"), "{}", step_row(&page, "lumen"));
    assert_eq!(world.journal(PeerService::Lumen, "notices").len(), 2);
    assert_eq!(lumen_got(&world, recorded), 1, "the retry carried the recorded document");
}

#[tokio::test]
async fn held_documents_are_bound_to_their_staffer_and_another_cannot_see_replace_or_drop_them() {
    // `outsider` holds a certificate of the test CA; here it is a second DMCA staffer.
    let world = World::start_with_roster(&[("outsider", &["dmca"])]);
    let other = "outsider";
    world.fault(
        PeerService::Lumen,
        "notices",
        Fault { status: Some(422), times: Some(1), ..Fault::default() },
    );
    // A's case whose Lumen step failed: its document stays held under the case.
    let case_document: &[u8] = b"%PDF-1.4 held for the case's Lumen retry";
    let (status, url, page) =
        world.post_multipart("/dmca/new", &granted(), &[("case-notice.pdf", case_document)]).await;
    assert_eq!(status, 200, "{page}");
    let case = case_id(&url).to_owned();
    assert!(step_row(&page, "lumen").contains("Failed"), "{}", step_row(&page, "lumen"));

    // A's form with an error: its document is held under the form's key.
    let form_document: &[u8] = b"%PDF-1.4 held while the form is corrected";
    let mut incomplete = granted();
    incomplete.retain(|(name, _)| *name != "sender_name");
    let (status, _, page) =
        world.post_multipart("/dmca/new", &incomplete, &[("form-notice.pdf", form_document)]).await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains("form-notice.pdf"), "{page}");
    let key = held_key(&page);

    // B presents A's form key, then A's case ID, with a document of their own each time...
    let intruder: &[u8] = b"%PDF-1.4 the other staffer's document";
    for presented in [key.as_str(), case.as_str()] {
        let mut fields = incomplete.clone();
        fields.push(("held_documents", presented));
        let (status, _, page) =
            world.post_multipart_as(other, "/dmca/new", &fields, &[("intruder.pdf", intruder)]).await;
        assert_eq!(status, 422, "{page}");
        assert!(!page.contains("form-notice.pdf") && !page.contains("case-notice.pdf"), "B sees A's: {page}");
    }
    // ...and records a request of their own with A's key.
    let (status, url, page) = world
        .post_multipart_as(other, "/dmca/new", &[("decision", "denied"), ("held_documents", &key)], &[])
        .await;
    assert_eq!(status, 200, "{page}");
    assert!(url.starts_with("/cases/"), "{url}");

    // A's form still holds A's document: the corrected request sends it, and only it.
    let mut complete = granted();
    complete.push(("held_documents", &key));
    let (status, _, page) = world.post_multipart("/dmca/new", &complete, &[]).await;
    assert_eq!(status, 200, "{page}");
    assert!(step_row(&page, "lumen").contains("Done"), "{}", step_row(&page, "lumen"));
    assert_eq!(lumen_got(&world, form_document), 1, "A's held document went to Lumen");
    // A's case still holds its document: the retry sends it without attaching it again.
    let (status, _, page) = world.post_multipart(&format!("/cases/{case}/steps/lumen"), &[], &[]).await;
    assert_eq!(status, 200, "{page}");
    assert!(step_row(&page, "lumen").contains("Done"), "{}", step_row(&page, "lumen"));
    assert_eq!(lumen_got(&world, case_document), 1, "the retry carried A's held document");
    assert_eq!(lumen_got(&world, intruder), 0, "B's document never went anywhere");
    assert!(key.starts_with("form-") && key.len() > 32, "a form's key never has a case ID's form: {key}");
}

#[tokio::test]
async fn the_daemon_log_names_no_person_file_or_case_content() {
    let world = World::start();
    let notice_pdf: &[u8] = b"%PDF-1.4 the notice as received";
    let (status, url, page) =
        world.post_multipart("/dmca/new", &granted(), &[("notice.pdf", notice_pdf)]).await;
    assert_eq!(status, 200, "{page}");
    let id = case_id(&url).to_owned();
    world.connect_wiki().await;
    let page = world.page(&format!("/cases/{id}")).await;
    let keys = notice_keys(&page);
    let talk = keys.iter().find(|k| k.starts_with("user-talk")).expect("a talk-page notice").clone();
    let text = notice_text(&page, &talk);
    let (status, _, answer) =
        world.post_form(&format!("/cases/{id}/notices/{talk}"), &[("text", &text)]).await;
    assert_eq!(status, 200, "{answer}");
    // Posted again: refused as a conflict, and the refusal is logged.
    let (status, _, answer) =
        world.post_form(&format!("/cases/{id}/notices/{talk}"), &[("text", "again")]).await;
    assert_eq!(status, 409, "{answer}");
    let log = world.daemon.wait_for_log("status=409");
    for secret in [
        "UploaderName",
        "Another Uploader",
        &hex::encode("UploaderName"),
        &hex::encode("Another Uploader"),
        "Lighthouse",
        "Beach",
        "notice.pdf",
        "Acme",
        "counsel@acme.example",
    ] {
        assert!(!log.contains(secret), "the daemon's log names {secret:?}:\n{log}");
    }
    // The log still says what happened: the route, by its pattern.
    assert!(log.contains("/cases/{case}/notices/{notice}"), "{log}");
}

/// Every request the simulated wiki received for `host`.
fn wiki_requests_to(world: &World, host: &str) -> Vec<serde_json::Value> {
    world
        .peers
        .peers
        .journal(PeerService::Wiki)
        .into_iter()
        .filter(|e| e["received"]["host"] == host)
        .collect()
}

#[tokio::test]
async fn no_wiki_credential_goes_to_a_typed_host_the_site_matrix_does_not_list() {
    let world = World::start();
    let port = world.peers.peers.address(PeerService::Wiki).port().to_string();
    let typed = format!("{UNLISTED_WIKI_HOST}:{port}");
    let other = |action: Option<&'static str>| {
        let mut fields: Vec<(&str, &str)> = lookup_form(action);
        fields.retain(|(name, _)| !matches!(*name, "project" | "affected_files"));
        fields.extend([("project", "other"), ("affected_files", "Deleted example.jpg")]);
        fields
    };
    // A lookup before the staffer connects would read the deletion archive as the bot, after it
    // as the staffer: neither credential goes to the typed host.
    let mut said = Vec::new();
    for connect in [false, true] {
        if connect {
            world.connect_wiki().await;
        }
        let mut fields = other(Some("lookup"));
        fields.push(("project_other", typed.as_str()));
        let (status, _, page) = world.post_multipart("/dmca/new", &fields, &[]).await;
        assert_eq!(status, 200, "{page}");
        said.push(page);
    }
    // A case on that project: its talk-page notices are refused.
    let mut fields = other(None);
    fields.push(("project_other", typed.as_str()));
    let (status, url, page) = world.post_multipart("/dmca/new", &fields, &[]).await;
    assert_eq!(status, 200, "{page}");
    let id = case_id(&url).to_owned();
    let talk: Vec<String> = notice_keys(&page).into_iter().filter(|k| k.starts_with("user-talk")).collect();
    assert!(!talk.is_empty(), "{page}");
    for key in &talk {
        let page = world.page(&format!("/cases/{id}")).await;
        let text = notice_text(&page, key);
        let (status, _, answer) =
            world.post_form(&format!("/cases/{id}/notices/{key}"), &[("text", &text)]).await;
        assert_eq!(status, 200, "{answer}");
        said.push(notice_block(&answer, key).to_owned());
    }
    let unlisted = wiki_requests_to(&world, UNLISTED_WIKI_HOST);
    assert!(!unlisted.is_empty(), "public reads still go to the typed host, anonymously");
    for request in &unlisted {
        assert_eq!(
            request["received"]["auth"], "anonymous",
            "a credential went to the typed host: {request}"
        );
        assert_ne!(
            request["received"]["action"], "login",
            "the bot's password went to the typed host: {request}"
        );
        assert_ne!(request["endpoint"], "action=edit", "an edit reached the typed host: {request}");
    }
    // Each page says why: the archive was not read, the notice was not posted.
    for page in &said {
        assert!(page.contains("no wiki credential is sent"), "{page}");
    }
    for block in &said[2..] {
        assert!(block.contains("Failed"), "{block}");
    }
    // A project from the site matrix still gets the staffer's own grant for the archive.
    let (status, _, page) = world.post_multipart("/dmca/new", &lookup_form(Some("lookup")), &[]).await;
    assert_eq!(status, 200, "{page}");
    assert!(file_row(&page, "Deleted example.jpg").contains(r#"data-state="deleted""#), "{page}");
    assert!(
        wiki_requests_to(&world, "en.wiki.test").iter().any(|r| r["received"]["auth"] == "oauth"),
        "the listed project was read with the staffer's grant"
    );
}

/// The section of the notice `key` on a case page.
fn notice_block<'p>(page: &'p str, key: &str) -> &'p str {
    page.split(&format!("data-notice=\"{key}\"")).nth(1).unwrap().split("</section>").next().unwrap()
}

#[tokio::test]
async fn an_edited_notice_is_posted_as_edited_and_the_case_keeps_and_shows_both_texts() {
    let world = World::start();
    let (status, url, page) =
        world.post_multipart("/dmca/new", &granted(), &[("notice.pdf", b"%PDF edit")]).await;
    assert_eq!(status, 200, "{page}");
    let id = case_id(&url).to_owned();
    world.connect_wiki().await;
    let page = world.page(&format!("/cases/{id}")).await;
    let keys = notice_keys(&page);
    let talk = keys.iter().find(|k| k.starts_with("user-talk")).expect("a talk-page notice").clone();
    let foundation = keys[0].clone();
    assert_ne!(talk, foundation);
    // The foundation page's notice as prepared (the browser sends CRLF line endings).
    let prepared = notice_text(&page, &foundation);
    let (status, _, answer) = world
        .post_form(&format!("/cases/{id}/notices/{foundation}"), &[("text", &prepared.replace('\n', "\r\n"))])
        .await;
    assert_eq!(status, 200, "{answer}");
    // The talk-page notice with a line the staffer added, in wikitext that is not escaped.
    let prepared_talk = notice_text(&page, &talk);
    let added = "A line the staffer added, with '''bold''' wikitext.";
    let edited = format!("{prepared_talk}\n{added}");
    let (status, _, answer) =
        world.post_form(&format!("/cases/{id}/notices/{talk}"), &[("text", &edited)]).await;
    assert_eq!(status, 200, "{answer}");
    // The wiki got the edit as typed.
    let wiki = world.peers.peers.snapshot(PeerService::Wiki).to_string();
    assert!(wiki.contains("'''bold''' wikitext"), "the edited text was posted");

    let page = world.page(&format!("/cases/{id}")).await;
    let unedited = notice_block(&page, &foundation);
    assert!(unedited.contains("Done") && unedited.contains("Posted as prepared"), "{unedited}");
    assert!(!unedited.contains("data-edited"), "{unedited}");
    let changed = notice_block(&page, &talk);
    assert!(changed.contains("Done") && changed.contains("edited by the staffer"), "{changed}");
    assert!(changed.contains("data-edited"), "the page says the notice was edited: {changed}");
    let diff = changed.split("data-edited").nth(1).unwrap();
    assert!(diff.contains("<ins>") && diff.contains("'''bold''' wikitext"), "what changed is shown: {diff}");
    // The case keeps both texts: the prepared one and the one posted.
    assert!(changed.contains("Text as prepared") && changed.contains("Text as posted"), "{changed}");
    // The history's own lines (not the notice blocks above) say how each was posted.
    let history = page.split("id=\"history\"").nth(1).expect("a history section");
    assert!(
        history.contains(", edited by the staffer") && history.contains(" as prepared"),
        "the history says so: {history}"
    );
}

#[tokio::test]
async fn a_wiki_grant_whose_connection_cannot_be_audited_is_dropped_unused() {
    // SECURITY.md section 2: connecting is audited before the grant is kept; if the entry
    // cannot be written, the grant is dropped unused.
    let world = World::start();
    let (status, url, page) = world.post_multipart("/dmca/new", &granted(), &[]).await;
    assert_eq!(status, 200, "{page}");
    let id = case_id(&url).to_owned();
    let home = world.page("/").await;
    let no_redirects = world
        .daemon
        .pki
        .client_builder("dmca-agent")
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = no_redirects
        .post(world.daemon.url("/wiki/connect"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "same-origin")
        .body(format!("csrf_token={}", harness::csrf_token(&home)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let authorize = response.headers()["location"].to_str().unwrap().to_owned();
    let back = harness::consent_at_meta(&world.peers, &authorize).await;
    // The wiki has granted access; now the store cannot take an audit entry (its newest
    // record damaged, as a failing disk would leave it), and the browser comes back.
    let original = damage_last_audit_record(&world.daemon, None);
    let callback = world.daemon.url(&format!("/wiki/callback?{}", back.query().unwrap()));
    let response = world.client().get(callback).send().await.unwrap();
    assert_eq!(response.status(), 503, "{}", response.text().await.unwrap());
    assert_eq!(world.journal(PeerService::Wiki, "oauth2/access_token").len(), 1, "the grant was obtained");
    damage_last_audit_record(&world.daemon, Some(original));
    // Repaired, the appliance works again, and the grant is nowhere: not shown, not used.
    let home = world.page("/").await;
    assert!(home.contains("Not connected."), "{home}");
    let page = world.page(&format!("/cases/{id}")).await;
    let key = notice_keys(&page)[0].clone();
    let text = notice_text(&page, &key);
    world.post_form(&format!("/cases/{id}/notices/{key}"), &[("text", &text)]).await;
    assert!(world.journal(PeerService::Wiki, "action=edit").is_empty(), "the dropped grant was used");
}

/// Overwrites the newest audit record of `daemon`'s store with garbage and returns what it held
/// (the next append cannot find the link to extend, so it fails), or, given `restore`, puts that
/// back.
fn damage_last_audit_record(daemon: &Daemon, restore: Option<Vec<u8>>) -> Vec<u8> {
    const AUDIT: redb::TableDefinition<'_, u64, &[u8]> = redb::TableDefinition::new("audit");
    let db = redb::Database::builder()
        .set_concurrency_mode(redb::ConcurrencyMode::MultiWriter)
        .open(daemon.dir.0.join("data").join(takedown::store::FILE_NAME))
        .unwrap();
    let tx = db.begin_write().unwrap();
    let previous = {
        let mut table = tx.open_table(AUDIT).unwrap();
        let (last, previous) =
            redb::ReadableTable::last(&table).unwrap().map(|(k, v)| (k.value(), v.value().to_vec())).unwrap();
        let replacement = restore.unwrap_or_else(|| vec![0u8; 3]);
        table.insert(last, replacement.as_slice()).unwrap();
        previous
    };
    tx.commit().unwrap();
    previous
}
