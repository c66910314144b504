//! `action=edit`: whole-page and section edits, new sections, appends; the checks MediaWiki
//! makes before saving (creation flags, deletion since `starttimestamp`, protection, stale
//! `baserevid`, `md5`), the hooks (AbuseFilter, SpamBlacklist, ConfirmEdit's captcha), and the
//! save itself with its `nochange` and `new` variants.

use md5::Digest;
use serde_json::{Map, Value, json};

use super::api::{ApiError, Ctx};
use super::data::{Page, Revision, State, Title, external_links, now_iso, url_host};
use super::session::wrap;

const MODULE: &str = "edit";

/// The phrase the simulated AbuseFilter rule 1 disallows.
const ABUSE_PHRASE: &str = "abusefilter-test-disallow";
/// The spam-blacklisted domain (and its subdomains).
const SPAM_DOMAIN: &str = "spam.example";

/// Which page an action names: `title` or `pageid`, exactly one.
pub(super) fn target_title(state: &State, ctx: &Ctx, module: &str) -> Result<Title, ApiError> {
    match (ctx.params.get("title"), ctx.params.get("pageid")) {
        (Some(_), Some(_)) => Err(ApiError::new(
            "invalidparammix",
            "The parameters \"title\" and \"pageid\" can not be used together.",
        )
        .module(module)),
        (None, None) => {
            Err(ApiError::new("missingparam", "One of the parameters \"title\" and \"pageid\" is required.")
                .module(module))
        }
        (Some(raw), None) => Title::parse(raw)
            .map_err(|_| ApiError::new("invalidtitle", &format!("Bad title \"{raw}\".")).module(module)),
        (None, Some(raw)) => {
            let found = raw.trim().parse::<u64>().ok().and_then(|id| {
                state.pages.iter().find(|p| p.pageid == id && (ctx.commons || !p.commons_only))
            });
            found.map(|p| p.title.clone()).ok_or_else(|| {
                ApiError::new("nosuchpageid", &format!("There is no page with ID {raw}.")).module(module)
            })
        }
    }
}

enum Section {
    Whole,
    New,
    Number(usize),
}

pub(super) fn edit(state: &mut State, ctx: &mut Ctx) -> Result<Map<String, Value>, ApiError> {
    let title = target_title(state, ctx, MODULE)?;
    let text = ctx.params.get("text").map(str::to_owned);
    let append = ctx.params.get("appendtext").map(str::to_owned);
    let prepend = ctx.params.get("prependtext").map(str::to_owned);
    let undo = ctx.params.get("undo").map(str::to_owned);
    for name in [
        "minor",
        "notminor",
        "bot",
        "watchlist",
        "watchlistexpiry",
        "tags",
        "redirect",
        "contentformat",
        "contentmodel",
        "basetimestamp",
        "undoafter",
        "returnto",
        "returntoquery",
        "returntoanchor",
    ] {
        ctx.params.get(name);
    }
    let section_param = ctx.params.get("section").map(str::to_owned);
    let section_title = ctx.params.get("sectiontitle").map(str::to_owned);
    let mut summary = ctx.params.get("summary").unwrap_or("").to_owned();
    let nocreate = ctx.params.flag("nocreate");
    let createonly = ctx.params.flag("createonly");
    let recreate = ctx.params.flag("recreate");
    let start = ctx.params.get("starttimestamp").map(str::to_owned);
    let base = ctx.params.get("baserevid").map(str::to_owned);
    let md5 = ctx.params.get("md5").map(str::to_owned);
    let captcha =
        (ctx.params.get("captchaid").map(str::to_owned), ctx.params.get("captchaword").map(str::to_owned));

    let mode = if append.is_some() || prepend.is_some() {
        "appendtext/prependtext"
    } else if text.is_some() {
        "text"
    } else if undo.is_some() {
        return Err(ApiError::new("undofailure", "Undo is not simulated by this wiki.").module(MODULE));
    } else {
        return Err(ApiError::new(
            "missingparam",
            "One of the parameters \"text\", \"appendtext\", \"prependtext\" and \"undo\" is required.",
        )
        .module(MODULE));
    };
    let section = match section_param.as_deref() {
        None | Some("") => Section::Whole,
        Some("new") => Section::New,
        Some(n) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
            Section::Number(n.parse().unwrap_or(usize::MAX))
        }
        Some(n) if n.starts_with("T-") => {
            return Err(ApiError::new("nosuchsection", &format!("There is no section {n}.")).module(MODULE));
        }
        Some(_) => {
            return Err(ApiError::new(
                "invalidsection",
                "The section parameter must be a valid section ID or \"new\".",
            )
            .module(MODULE));
        }
    };
    let body_length = [&text, &append, &prepend]
        .iter()
        .filter_map(|t| t.as_ref())
        .map(|t| t.chars().count())
        .sum::<usize>();
    ctx.note("section", json!(section_param));
    ctx.note("mode", json!(mode));
    ctx.note("text_length", json!(body_length));

    let index = state.page_index(&title, ctx.commons);
    if nocreate && index.is_none() {
        return Err(ApiError::new("missingtitle", "The page you specified doesn't exist.").module(MODULE));
    }
    if createonly && index.is_some() {
        return Err(ApiError::new(
            "articleexists",
            "The article you tried to create has been created already.",
        )
        .module(MODULE));
    }
    if index.is_none()
        && !recreate
        && let Some(start) = &start
        && state.deleted_pages.iter().any(|d| d.title == title && d.deleted_at > *start)
    {
        return Err(ApiError::new(
            "pagedeleted",
            "The page has been deleted since you fetched its timestamp.",
        )
        .module(MODULE));
    }
    let right =
        if index.is_none() { if title.ns % 2 == 1 { "createtalk" } else { "createpage" } } else { "edit" };
    if !ctx.caller.can("edit") || !ctx.caller.can(right) {
        return Err(ApiError::permission(
            MODULE,
            if index.is_none() { "create this page" } else { "edit this page" },
        ));
    }
    let page = index.and_then(|i| state.pages.get(i));
    if let Some(level) = page.and_then(|p| p.protection) {
        let needed = if level == "sysop" { "editprotected" } else { "editsemiprotected" };
        if !ctx.caller.can(needed) {
            return Err(ApiError::new(
                "protectedpage",
                "This page has been protected to prevent editing or other actions.",
            )
            .module(MODULE));
        }
    }
    let old_text = page.map_or("", Page::text).to_owned();
    let latest = page.and_then(|p| p.latest()).map_or(0, |r| r.revid);
    if let Some(base) = &base {
        let known = base
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|id| state.pages.iter().any(|p| p.revisions.iter().any(|r| r.revid == *id)));
        let Some(base_id) = known else {
            return Err(
                ApiError::new("nosuchrevid", &format!("There is no revision with ID {base}.")).module(MODULE)
            );
        };
        if base_id != latest && !matches!(section, Section::New) {
            return Err(ApiError::new("editconflict", "Edit conflict.").module(MODULE));
        }
    }
    if let Some(md5) = &md5 {
        let given: String = match (&append, &prepend) {
            (None, None) => text.clone().unwrap_or_default(),
            _ => format!("{}{}", prepend.as_deref().unwrap_or(""), append.as_deref().unwrap_or("")),
        };
        if crate::request::hex(&md5::Md5::digest(given.as_bytes())) != md5.to_ascii_lowercase() {
            return Err(ApiError::new("badmd5", "The supplied MD5 hash was incorrect.").module(MODULE));
        }
    }

    let body = match (&append, &prepend) {
        (None, None) => text.clone().unwrap_or_default(),
        _ => format!("{}{}", prepend.as_deref().unwrap_or(""), append.as_deref().unwrap_or("")),
    };
    let new_text = match section {
        Section::Whole => match (&append, &prepend) {
            (None, None) => body,
            _ => {
                format!("{}{}{}", prepend.as_deref().unwrap_or(""), old_text, append.as_deref().unwrap_or(""))
            }
        },
        Section::New => {
            let heading = section_title
                .clone()
                .filter(|t| !t.is_empty())
                .or_else(|| (!summary.is_empty()).then(|| summary.clone()));
            if let Some(heading) = &heading
                && section_title.is_some()
                && summary.is_empty()
            {
                summary = format!("/* {heading} */ new section");
            }
            let block = match &heading {
                Some(heading) => format!("== {heading} ==\n\n{body}"),
                None => body,
            };
            if old_text.is_empty() { block } else { format!("{old_text}\n\n{block}") }
        }
        Section::Number(n) => {
            let Some((from, to)) = section_range(&old_text, n) else {
                return Err(
                    ApiError::new("nosuchsection", &format!("There is no section {n}.")).module(MODULE)
                );
            };
            let replacement = match (&append, &prepend) {
                (None, None) => body,
                _ => format!(
                    "{}{}{}",
                    prepend.as_deref().unwrap_or(""),
                    old_text[from..to].trim_end(),
                    append.as_deref().unwrap_or("")
                ),
            };
            let after = &old_text[to..];
            let mut joined = format!("{}{}", &old_text[..from], replacement.trim_end());
            if !after.is_empty() {
                joined.push_str("\n\n");
                joined.push_str(after);
            }
            joined
        }
    };
    let new_text = new_text.trim_end().to_owned();

    if let Some(page) = page
        && page.text() == new_text
    {
        let mut result = Map::new();
        result.insert("result".into(), json!("Success"));
        result.insert("pageid".into(), json!(page.pageid));
        result.insert("title".into(), json!(page.title.text));
        result.insert("contentmodel".into(), json!("wikitext"));
        result.insert("nochange".into(), json!(true));
        ctx.note("outcome", json!("nochange"));
        return Ok(wrap("edit", result));
    }

    let old_links = external_links(&old_text);
    let added: Vec<String> =
        external_links(&new_text).into_iter().filter(|l| !old_links.contains(l)).collect();
    if new_text.to_lowercase().contains(ABUSE_PHRASE) && !old_text.to_lowercase().contains(ABUSE_PHRASE) {
        return Err(ApiError::new(
            "abusefilter-disallowed",
            "This action has been automatically identified as harmful, and therefore disallowed. If you believe your action was constructive, please inform an administrator of what you were trying to do. A brief description of the abuse rule which your action matched is: Simulated test filter",
        )
        .module(MODULE)
        .data(json!({"abusefilter": {"id": 1, "description": "Simulated test filter", "actions": ["disallow"]}})));
    }
    let spam: Vec<String> = added
        .iter()
        .filter(|l| {
            let host = url_host(l);
            host == SPAM_DOMAIN || host.ends_with(&format!(".{SPAM_DOMAIN}"))
        })
        .cloned()
        .collect();
    if !spam.is_empty() {
        return Err(ApiError::new(
            "spamblacklist",
            &format!(
                "The text you wanted to publish was blocked by the spam filter. This is probably caused by a link to a blacklisted external site: {}.",
                spam.join(", ")
            ),
        )
        .module(MODULE)
        .data(json!({"spamblacklist": {"matches": spam}})));
    }
    if !added.is_empty() && !ctx.caller.can("skipcaptcha") {
        let solved = match &captcha {
            (Some(id), Some(word)) => {
                let issued = state.captchas.remove(id);
                issued && *word == id.chars().rev().collect::<String>()
            }
            _ => false,
        };
        if !solved {
            state.captchas_issued += 1;
            let id = format!("cap{:04}", state.captchas_issued);
            state.captchas.insert(id.clone());
            ctx.note("captcha", json!(if captcha.0.is_some() { "wrong, new one issued" } else { "issued" }));
            let mut result = Map::new();
            result.insert("result".into(), json!("Failure"));
            result.insert(
                "captcha".into(),
                json!({
                    "type": "image",
                    "mime": "image/png",
                    "id": id,
                    "url": format!("/w/index.php?title=Special:Captcha/image&wpCaptchaId={id}"),
                }),
            );
            return Ok(wrap("edit", result));
        }
        ctx.note("captcha", json!("solved"));
    }

    let timestamp = now_iso();
    let revid = state.next_revid();
    let user = ctx.caller.name();
    let revision = Revision {
        revid,
        parentid: latest,
        user: user.clone(),
        userid: ctx.caller.userid,
        timestamp: timestamp.clone(),
        text: new_text,
        summary,
        bits: 0,
    };
    let (pageid, created) = match index {
        Some(i) => match state.pages.get_mut(i) {
            Some(page) => {
                page.revisions.push(revision);
                (page.pageid, false)
            }
            None => (0, false),
        },
        None => {
            let pageid = state.next_pageid();
            state.pages.push(Page {
                pageid,
                title: title.clone(),
                revisions: vec![revision],
                protection: None,
                commons_only: false,
                huge: false,
            });
            (pageid, true)
        }
    };
    if let Some(account) = state.users.iter_mut().find(|u| u.name == user) {
        account.editcount += 1;
    }
    let mut result = Map::new();
    result.insert("result".into(), json!("Success"));
    result.insert("pageid".into(), json!(pageid));
    result.insert("title".into(), json!(title.text));
    result.insert("contentmodel".into(), json!("wikitext"));
    result.insert("oldrevid".into(), json!(latest));
    result.insert("newrevid".into(), json!(revid));
    result.insert("newtimestamp".into(), json!(timestamp));
    if created {
        result.insert("new".into(), json!(true));
    }
    ctx.note("outcome", json!(if created { "created" } else { "saved" }));
    ctx.note("newrevid", json!(revid));
    Ok(wrap("edit", result))
}

/// The byte range of section `n` (0 is the lead; a section runs to the next heading of the
/// same or a higher level).
fn section_range(text: &str, n: usize) -> Option<(usize, usize)> {
    let headings = headings(text);
    if n == 0 {
        return Some((0, headings.first().map_or(text.len(), |h| h.0)));
    }
    let (start, level) = *headings.get(n - 1)?;
    let end = headings.iter().skip(n).find(|h| h.1 <= level).map_or(text.len(), |h| h.0);
    Some((start, end))
}

/// (line start, level) of every `== heading ==` line.
fn headings(text: &str) -> Vec<(usize, usize)> {
    let mut found = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_end();
        let leading = trimmed.chars().take_while(|c| *c == '=').count();
        let trailing = trimmed.chars().rev().take_while(|c| *c == '=').count();
        if leading >= 1 && trailing >= 1 && trimmed.len() > leading + trailing {
            found.push((offset, leading.min(trailing).min(6)));
        }
        offset += line.len();
    }
    found
}
