//! `action=query`: the page set (`titles`, normalised or invalid), `prop=info|revisions|
//! imageinfo`, `list=filearchive|exturlusage|search`, `meta=tokens|userinfo|siteinfo|
//! globaluserinfo`, and continuation.

use serde_json::{Map, Value, json};

use super::api::{ApiError, Ctx, escape_html};
use super::data::{
    HIDE_COMMENT, HIDE_CONTENT, HIDE_USER, SUPPRESSED, State, Title, canonical_user, external_links,
};
use super::{files, session, sites};

const MODULE: &str = "query";

pub(super) fn query(state: &mut State, ctx: &mut Ctx) -> Result<Map<String, Value>, ApiError> {
    let props = ctx.known_values(MODULE, "prop", &["info", "revisions", "imageinfo"]);
    let lists = ctx.known_values(MODULE, "list", &["filearchive", "exturlusage", "search"]);
    let metas = ctx.known_values(MODULE, "meta", &["tokens", "userinfo", "siteinfo", "globaluserinfo"]);
    for name in [
        "indexpageids",
        "export",
        "exportnowrap",
        "iwurl",
        "rawcontinue",
        "redirects",
        "converttitles",
        "continue",
    ] {
        ctx.params.get(name);
    }
    let mut query = Map::new();
    let mut cont = Map::new();
    let mut prop_continues = false;

    let raw_titles = ctx.params.list("titles");
    if raw_titles.len() > 50 {
        return Err(ApiError::new(
            "toomanyvalues",
            "Too many values supplied for parameter \"titles\". The limit is 50.",
        )
        .module(MODULE));
    }
    if ctx.params.get("pageids").is_some()
        || ctx.params.get("revids").is_some()
        || ctx.params.get("generator").is_some()
    {
        ctx.warn(MODULE, "notsimulated", "pageids, revids and generators are not simulated; only titles is.");
    }
    let imageinfo_options =
        if props.iter().any(|p| p == "imageinfo") { Some(files::imageinfo_options(ctx)?) } else { None };
    let revisions_options =
        if props.iter().any(|p| p == "revisions") { Some(revisions_options(ctx)?) } else { None };
    let info_protection =
        props.iter().any(|p| p == "info") && ctx.params.list("inprop").iter().any(|p| p == "protection");
    if !raw_titles.is_empty() {
        let mut normalized = Vec::new();
        let mut pages = Vec::new();
        let mut seen: Vec<String> = Vec::new();
        let single = raw_titles.len() == 1;
        for raw in &raw_titles {
            let title = match Title::parse(raw) {
                Ok(title) => title,
                Err(reason) => {
                    pages.push(json!({"title": raw, "invalidreason": reason, "invalid": true}));
                    continue;
                }
            };
            if title.text != *raw {
                normalized.push(json!({"fromencoded": false, "from": raw, "to": title.text}));
            }
            if seen.contains(&title.text) {
                continue;
            }
            seen.push(title.text.clone());
            let mut entry = Map::new();
            let page = state.page(&title, ctx.commons);
            if let Some(page) = page {
                entry.insert("pageid".into(), json!(page.pageid));
            }
            entry.insert("ns".into(), json!(title.ns));
            entry.insert("title".into(), json!(title.text));
            if page.is_none() {
                entry.insert("missing".into(), json!(true));
            }
            if props.iter().any(|p| p == "info") {
                info(state, ctx, &title, &mut entry, info_protection);
            }
            if let Some(options) = &revisions_options {
                revisions(state, ctx, &title, &mut entry, options, single);
            }
            if let Some(options) = &imageinfo_options
                && let Some(next) = files::imageinfo(state, ctx, &title, &mut entry, options)
            {
                cont.insert("iicontinue".into(), json!(next));
                prop_continues = true;
            }
            pages.push(Value::Object(entry));
        }
        if !normalized.is_empty() {
            query.insert("normalized".into(), Value::Array(normalized));
        }
        query.insert("pages".into(), Value::Array(pages));
    }
    for list in &lists {
        match list.as_str() {
            "filearchive" => {
                let (rows, next) = files::filearchive(state, ctx)?;
                query.insert("filearchive".into(), rows);
                if let Some(next) = next {
                    cont.insert("facontinue".into(), json!(next));
                }
            }
            "exturlusage" => {
                let (rows, next) = exturlusage(state, ctx)?;
                query.insert("exturlusage".into(), rows);
                if let Some(next) = next {
                    cont.insert("eucontinue".into(), json!(next));
                }
            }
            "search" => {
                let (info, rows, next) = search(state, ctx)?;
                if let Some(info) = info {
                    query.insert("searchinfo".into(), info);
                }
                query.insert("search".into(), rows);
                if let Some(next) = next {
                    cont.insert("sroffset".into(), json!(next));
                }
            }
            _ => {}
        }
    }
    for meta in &metas {
        match meta.as_str() {
            "tokens" => {
                query.insert("tokens".into(), session::tokens(state, ctx));
            }
            "userinfo" => {
                query.insert("userinfo".into(), userinfo(state, ctx));
            }
            "siteinfo" => {
                query.insert("general".into(), siteinfo(ctx));
            }
            "globaluserinfo" => {
                query.insert("globaluserinfo".into(), globaluserinfo(state, ctx)?);
            }
            _ => {}
        }
    }
    let mut body = Map::new();
    if !prop_continues {
        body.insert("batchcomplete".into(), json!(true));
    }
    if !cont.is_empty() {
        cont.insert("continue".into(), json!(if prop_continues { "||" } else { "-||" }));
        body.insert("continue".into(), Value::Object(cont));
    }
    if !query.is_empty() {
        body.insert("query".into(), Value::Object(query));
    }
    Ok(body)
}

fn info(state: &State, ctx: &Ctx, title: &Title, entry: &mut Map<String, Value>, protection: bool) {
    entry.insert("contentmodel".into(), json!("wikitext"));
    entry.insert("pagelanguage".into(), json!("en"));
    entry.insert("pagelanguagehtmlcode".into(), json!("en"));
    entry.insert("pagelanguagedir".into(), json!("ltr"));
    if let Some(page) = state.page(title, ctx.commons) {
        if let Some(latest) = page.latest() {
            entry.insert("touched".into(), json!(latest.timestamp));
            entry.insert("lastrevid".into(), json!(latest.revid));
            entry.insert("length".into(), json!(latest.text.len()));
        }
        if page.revisions.len() == 1 {
            entry.insert("new".into(), json!(true));
        }
        if protection {
            let levels: Vec<Value> = page
                .protection
                .iter()
                .flat_map(|level| {
                    ["edit", "move"].map(|kind| json!({"type": kind, "level": level, "expiry": "infinity"}))
                })
                .collect();
            entry.insert("protection".into(), Value::Array(levels));
            entry.insert("restrictiontypes".into(), json!(["edit", "move"]));
        }
    } else if protection {
        entry.insert("protection".into(), json!([]));
        entry.insert("restrictiontypes".into(), json!(["create"]));
    }
}

struct RevisionsOptions {
    props: Vec<String>,
    limit: usize,
    slots: bool,
}

fn revisions_options(ctx: &mut Ctx) -> Result<RevisionsOptions, ApiError> {
    const PROPS: [&str; 9] =
        ["ids", "flags", "timestamp", "user", "userid", "size", "sha1", "comment", "content"];
    let mut props = ctx.known_values("query+revisions", "rvprop", &PROPS);
    if ctx.params.raw("rvprop").is_none() {
        props = ["ids", "timestamp", "flags", "comment", "user"].map(str::to_owned).to_vec();
    }
    let limit = ctx.params.limit("rvlimit", 1, 500, "query+revisions")?;
    let slots = ctx.params.get("rvslots").is_some();
    for name in ["rvdir", "rvstart", "rvend", "rvcontinue", "rvsection", "rvcontentformat"] {
        ctx.params.get(name);
    }
    if props.iter().any(|p| p == "content") && !slots {
        ctx.warn(
            "query+revisions",
            "deprecation",
            "Because \"rvslots\" was not specified, a legacy format has been used for the output. This format is deprecated, and in the future the new format will always be used.",
        );
    }
    Ok(RevisionsOptions { props, limit, slots })
}

fn revisions(
    state: &State,
    ctx: &Ctx,
    title: &Title,
    entry: &mut Map<String, Value>,
    options: &RevisionsOptions,
    single: bool,
) {
    let Some(page) = state.page(title, ctx.commons) else { return };
    let has = |p: &str| options.props.iter().any(|x| x == p);
    let take = if single { options.limit } else { 1 };
    let caller = &ctx.caller;
    let mut out = Vec::new();
    for r in page.revisions.iter().rev().take(take) {
        let mut rev = Map::new();
        if has("ids") {
            rev.insert("revid".into(), json!(r.revid));
            rev.insert("parentid".into(), json!(r.parentid));
        }
        if has("flags") {
            rev.insert("minor".into(), json!(false));
        }
        if has("timestamp") {
            rev.insert("timestamp".into(), json!(r.timestamp));
        }
        if has("user") || has("userid") {
            if r.bits & HIDE_USER != 0 {
                rev.insert("userhidden".into(), json!(true));
            }
            if caller.can_see(r.bits, HIDE_USER) {
                if has("user") {
                    rev.insert("user".into(), json!(r.user));
                }
                if has("userid") {
                    rev.insert("userid".into(), json!(r.userid));
                }
            }
        }
        if has("size") {
            rev.insert("size".into(), json!(r.text.len()));
        }
        if has("sha1") {
            if r.bits & HIDE_CONTENT != 0 {
                rev.insert("sha1hidden".into(), json!(true));
            }
            if caller.can_see(r.bits, HIDE_CONTENT) {
                rev.insert("sha1".into(), json!(super::data::sha1_hex(r.text.as_bytes())));
            }
        }
        if has("comment") {
            if r.bits & HIDE_COMMENT != 0 {
                rev.insert("commenthidden".into(), json!(true));
            }
            if caller.can_see(r.bits, HIDE_COMMENT) {
                rev.insert("comment".into(), json!(r.summary));
            }
        }
        if r.bits & SUPPRESSED != 0 && r.bits & !SUPPRESSED != 0 {
            rev.insert("suppressed".into(), json!(true));
        }
        if has("content") {
            let visible = caller.can_see(r.bits, HIDE_CONTENT);
            if options.slots {
                let mut main = Map::new();
                main.insert("contentmodel".into(), json!("wikitext"));
                main.insert("contentformat".into(), json!("text/x-wiki"));
                if visible {
                    main.insert("content".into(), json!(r.text));
                } else {
                    main.insert("texthidden".into(), json!(true));
                }
                rev.insert("slots".into(), json!({"main": main}));
            } else if visible {
                rev.insert("contentformat".into(), json!("text/x-wiki"));
                rev.insert("contentmodel".into(), json!("wikitext"));
                rev.insert("content".into(), json!(r.text));
            } else {
                rev.insert("texthidden".into(), json!(true));
            }
        }
        out.push(Value::Object(rev));
    }
    entry.insert("revisions".into(), Value::Array(out));
}

/// `list=exturlusage`: links are enumerated in (pageid, url) order, `eulimit` of them per
/// batch, and the namespace filter is applied after the limit (miser mode).
fn exturlusage(state: &State, ctx: &mut Ctx) -> Result<(Value, Option<String>), ApiError> {
    const EU: &str = "query+exturlusage";
    let mut props = ctx.known_values(EU, "euprop", &["ids", "title", "url"]);
    if ctx.params.raw("euprop").is_none() {
        props = ["ids", "title", "url"].map(str::to_owned).to_vec();
    }
    let limit = ctx.params.limit("eulimit", 10, 500, EU)?;
    let offset: usize = ctx.params.get("eucontinue").and_then(|c| c.parse().ok()).unwrap_or(0);
    let protocol = ctx.params.get("euprotocol").unwrap_or("").to_ascii_lowercase();
    let namespaces: Option<Vec<i32>> = ctx
        .params
        .raw("eunamespace")
        .map(|_| ctx.params.list("eunamespace").iter().filter_map(|n| n.parse().ok()).collect());
    ctx.params.get("euexpandurl");
    let query = ctx.params.get("euquery").unwrap_or("").to_owned();
    if !protocol.is_empty() && !["http", "https", "http://", "https://"].contains(&protocol.as_str()) {
        return Err(ApiError::new(
            "badvalue",
            &format!("Unrecognized value for parameter \"euprotocol\": {protocol}."),
        )
        .module(EU));
    }
    let pattern = if query.is_empty() {
        None
    } else {
        Some(parse_link_query(&query).ok_or_else(|| bad_query(&query, EU))?)
    };
    let mut all: Vec<(u64, i32, String, String)> = Vec::new();
    let mut pages: Vec<&super::data::Page> =
        state.pages.iter().filter(|p| ctx.commons || !p.commons_only).collect();
    pages.sort_by_key(|p| p.pageid);
    for page in pages {
        let mut links = external_links(page.text());
        links.sort();
        for link in links {
            let scheme = link.split("://").next().unwrap_or("").to_ascii_lowercase();
            let scheme_ok = match protocol.trim_end_matches("://") {
                "" => scheme == "http" || scheme == "https",
                wanted => scheme == wanted,
            };
            if scheme_ok && pattern.as_ref().is_none_or(|p| p.matches(&link)) {
                all.push((page.pageid, page.title.ns, page.title.text.clone(), link));
            }
        }
    }
    let batch: Vec<&(u64, i32, String, String)> = all.iter().skip(offset).take(limit).collect();
    let rows: Vec<Value> = batch
        .iter()
        .filter(|(_, ns, _, _)| namespaces.as_ref().is_none_or(|list| list.contains(ns)))
        .map(|(pageid, ns, title, url)| {
            let mut row = Map::new();
            if props.iter().any(|p| p == "ids") {
                row.insert("pageid".into(), json!(pageid));
            }
            if props.iter().any(|p| p == "title") {
                row.insert("ns".into(), json!(ns));
                row.insert("title".into(), json!(title));
            }
            if props.iter().any(|p| p == "url") {
                row.insert("url".into(), json!(url));
            }
            Value::Object(row)
        })
        .collect();
    let next = (offset + limit < all.len()).then(|| (offset + limit).to_string());
    ctx.note("euquery", json!(query));
    Ok((Value::Array(rows), next))
}

fn bad_query(query: &str, module: &str) -> ApiError {
    ApiError::new("badquery", &format!("Invalid query \"{query}\".")).module(module)
}

/// A parsed `euquery`: host (with an optional leading `*.`), path prefix.
struct LinkQuery {
    wildcard: bool,
    host: String,
    path: String,
}

fn parse_link_query(query: &str) -> Option<LinkQuery> {
    if query.contains("://") || query.chars().any(char::is_whitespace) {
        return None;
    }
    let (wildcard, rest) = match query.strip_prefix("*.") {
        Some(rest) => (true, rest),
        None => (false, query),
    };
    let (host, path) = match rest.find(['/', '?', '#']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let host = host.split(':').next().unwrap_or("").to_ascii_lowercase();
    if host.is_empty()
        || host.contains('*')
        || host.starts_with('.')
        || host.ends_with('.')
        || host.contains("..")
    {
        return None;
    }
    Some(LinkQuery { wildcard, host, path: path.to_owned() })
}

impl LinkQuery {
    fn matches(&self, url: &str) -> bool {
        let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
        let split = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let host = rest[..split].split(':').next().unwrap_or("").to_ascii_lowercase();
        let path = &rest[split..];
        let host_ok = host == self.host || (self.wildcard && host.ends_with(&format!(".{}", self.host)));
        host_ok && path.starts_with(&self.path)
    }
}

/// `list=search`: every word of `srsearch` (case-insensitive) in the title or the text.
fn search(state: &State, ctx: &mut Ctx) -> Result<(Option<Value>, Value, Option<usize>), ApiError> {
    const SR: &str = "query+search";
    let Some(raw) = ctx.params.get("srsearch").map(str::to_owned) else {
        return Err(ApiError::missing("srsearch", SR));
    };
    let namespaces: Vec<i32> = match ctx.params.raw("srnamespace") {
        None => vec![0],
        Some("*") => {
            ctx.params.get("srnamespace");
            (-1..16).collect()
        }
        Some(_) => ctx.params.list("srnamespace").iter().filter_map(|n| n.parse().ok()).collect(),
    };
    let limit = ctx.params.limit("srlimit", 10, 500, SR)?;
    let offset = usize::try_from(ctx.params.int("sroffset", SR)?.unwrap_or(0).max(0)).unwrap_or(0);
    let what = ctx.params.get("srwhat").unwrap_or("text").to_owned();
    let mut info_props = ctx.known_values(SR, "srinfo", &["totalhits", "suggestion", "rewrittenquery"]);
    if ctx.params.raw("srinfo").is_none() {
        info_props = vec!["totalhits".into(), "suggestion".into(), "rewrittenquery".into()];
    }
    let mut props = ctx.known_values(
        SR,
        "srprop",
        &[
            "size",
            "wordcount",
            "timestamp",
            "snippet",
            "titlesnippet",
            "redirecttitle",
            "redirectsnippet",
            "sectiontitle",
            "sectionsnippet",
            "isfilematch",
            "categorysnippet",
            "score",
            "hasrelated",
            "extensiondata",
        ],
    );
    if ctx.params.raw("srprop").is_none() {
        props = ["size", "wordcount", "timestamp", "snippet"].map(str::to_owned).to_vec();
    }
    for name in ["srqiprofile", "srsort", "srenablerewrites", "srinterwiki", "srbackend"] {
        ctx.params.get(name);
    }
    let terms = search_terms(&raw);
    ctx.note("srsearch_terms", json!(terms.len()));
    let mut hits: Vec<&super::data::Page> = state
        .pages
        .iter()
        .filter(|p| ctx.commons || !p.commons_only)
        .filter(|p| namespaces.contains(&p.title.ns))
        .filter(|p| {
            let title = p.title.text.to_lowercase();
            let text = p.text().to_lowercase();
            !terms.is_empty()
                && terms
                    .iter()
                    .all(|t| title.contains(t.as_str()) || (what != "title" && text.contains(t.as_str())))
        })
        .collect();
    hits.sort_by_key(|p| p.pageid);
    let has = |p: &str| props.iter().any(|x| x == p);
    let rows: Vec<Value> = hits
        .iter()
        .skip(offset)
        .take(limit)
        .map(|p| {
            let mut row = Map::new();
            row.insert("ns".into(), json!(p.title.ns));
            row.insert("title".into(), json!(p.title.text));
            row.insert("pageid".into(), json!(p.pageid));
            if has("size") {
                row.insert("size".into(), json!(p.text().len()));
            }
            if has("wordcount") {
                row.insert("wordcount".into(), json!(p.text().split_whitespace().count()));
            }
            if has("snippet") {
                row.insert("snippet".into(), json!(snippet(p.text(), &terms)));
            }
            if has("timestamp") {
                row.insert("timestamp".into(), json!(p.latest().map(|r| r.timestamp.clone())));
            }
            Value::Object(row)
        })
        .collect();
    let info = info_props.iter().any(|p| p == "totalhits").then(|| json!({"totalhits": hits.len()}));
    let next = (offset + limit < hits.len()).then_some(offset + limit);
    Ok((info, Value::Array(rows), next))
}

/// The words of a search, lower-case; `insource:"…"` and quotes count as plain text.
fn search_terms(raw: &str) -> Vec<String> {
    let mut terms = Vec::new();
    let cleaned = raw.replace("insource:", " ");
    let mut rest = cleaned.as_str();
    while let Some(start) = rest.find('"') {
        terms.extend(rest[..start].split_whitespace().map(str::to_lowercase));
        let after = &rest[start + 1..];
        let end = after.find('"').unwrap_or(after.len());
        let phrase = after[..end].trim().to_lowercase();
        if !phrase.is_empty() {
            terms.push(phrase);
        }
        rest = after.get(end + 1..).unwrap_or("");
    }
    terms.extend(rest.split_whitespace().map(str::to_lowercase));
    terms
}

/// A snippet around the first match, with `<span class="searchmatch">` marks.
fn snippet(text: &str, terms: &[String]) -> String {
    let lower = text.to_lowercase();
    let Some((at, term)) =
        terms.iter().filter_map(|t| lower.find(t.as_str()).map(|i| (i, t))).min_by_key(|(i, _)| *i)
    else {
        return escape_html(&text.chars().take(150).collect::<String>());
    };
    if lower.len() != text.len()
        || !text.is_char_boundary(at)
        || !text.is_char_boundary((at + term.len()).min(text.len()))
    {
        return escape_html(&text.chars().take(150).collect::<String>());
    }
    let from = text[..at].char_indices().rev().nth(60).map_or(0, |(i, _)| i);
    let end = (at + term.len()).min(text.len());
    let to = text[end..].char_indices().nth(80).map_or(text.len(), |(i, _)| end + i);
    format!(
        "{}<span class=\"searchmatch\">{}</span>{}",
        escape_html(&text[from..at]),
        escape_html(&text[at..end]),
        escape_html(&text[end..to])
    )
}

fn userinfo(state: &State, ctx: &mut Ctx) -> Value {
    let props = ctx.known_values(
        "query+userinfo",
        "uiprop",
        &[
            "blockinfo",
            "hasmsg",
            "groups",
            "rights",
            "editcount",
            "registrationdate",
            "realname",
            "email",
            "options",
            "ratelimits",
            "centralids",
        ],
    );
    let caller = &ctx.caller;
    let mut info = Map::new();
    info.insert("id".into(), json!(caller.userid));
    info.insert("name".into(), json!(caller.name()));
    if caller.user.is_none() {
        info.insert("anon".into(), json!(true));
    }
    let has = |p: &str| props.iter().any(|x| x == p);
    if has("groups") {
        info.insert("groups".into(), json!(caller.groups));
    }
    if has("rights") {
        info.insert("rights".into(), json!(caller.rights));
    }
    if has("editcount")
        && let Some(user) = caller.user.as_deref().and_then(|n| state.user(n))
    {
        info.insert("editcount".into(), json!(user.editcount));
    }
    if has("registrationdate")
        && let Some(user) = caller.user.as_deref().and_then(|n| state.user(n))
    {
        info.insert("registrationdate".into(), json!(user.registration));
    }
    Value::Object(info)
}

fn siteinfo(ctx: &mut Ctx) -> Value {
    ctx.params.get("siprop");
    let hostname = ctx.host.rsplit_once(':').map_or(ctx.host.as_str(), |(h, _)| h).to_owned();
    let (dbname, sitename, lang) = sites::describe_host(&hostname);
    json!({
        "mainpage": "Main Page",
        "base": format!("{}/wiki/Main_Page", ctx.server()),
        "sitename": sitename,
        "generator": "MediaWiki 1.45.0-wmf.1 (simulated)",
        "servername": hostname,
        "server": format!("//{}", ctx.host),
        "wikiid": dbname,
        "lang": lang,
        "articlepath": "/wiki/$1",
        "scriptpath": "/w",
        "script": "/w/index.php",
        "readonly": false,
    })
}

fn globaluserinfo(state: &State, ctx: &mut Ctx) -> Result<Value, ApiError> {
    const GUI: &str = "query+globaluserinfo";
    let props = ctx.known_values(GUI, "guiprop", &["groups", "rights", "merged", "unattached", "editcount"]);
    let account =
        match (ctx.params.get("guiuser").map(str::to_owned), ctx.params.get("guiid").map(str::to_owned)) {
            (Some(name), _) => {
                if name.trim().is_empty() || name.chars().any(|c| "@:>=#<>[]|{}/".contains(c)) {
                    return Err(
                        ApiError::new("invaliduser", &format!("Invalid username \"{name}\".")).module(GUI)
                    );
                }
                let name = canonical_user(&name);
                state.global.iter().find(|g| g.name == name)
            }
            (None, Some(id)) => {
                let found =
                    id.trim().parse::<u64>().ok().and_then(|id| state.global.iter().find(|g| g.id == id));
                match found {
                    Some(account) => Some(account),
                    None => {
                        return Err(ApiError::new(
                            "invaliduserid",
                            &format!("There is no user with ID {id}."),
                        )
                        .module(GUI));
                    }
                }
            }
            (None, None) => {
                ctx.caller.user.as_ref().and_then(|name| state.global.iter().find(|g| g.name == *name))
            }
        };
    let Some(account) = account.filter(|a| !a.hidden || ctx.caller.can("hideuser")) else {
        return Ok(json!({"missing": true}));
    };
    let has = |p: &str| props.iter().any(|x| x == p);
    let mut info = Map::new();
    info.insert("home".into(), json!(account.home));
    info.insert("id".into(), json!(account.id));
    info.insert("registration".into(), json!(account.registration));
    info.insert("name".into(), json!(account.name));
    if account.locked {
        info.insert("locked".into(), json!(true));
    }
    if account.hidden {
        info.insert("hidden".into(), json!(true));
    }
    if has("groups") {
        info.insert("groups".into(), json!(account.groups));
    }
    if has("rights") {
        let rights: Vec<&str> = if account.groups.contains(&"staff") {
            vec!["centralauth-lock", "centralauth-suppress", "globalblock"]
        } else {
            Vec::new()
        };
        info.insert("rights".into(), json!(rights));
    }
    if has("merged") {
        let merged: Vec<Value> = account
            .merged
            .iter()
            .map(|m| {
                let mut entry = json!({
                    "wiki": m.wiki, "url": m.url, "id": m.id, "timestamp": m.timestamp,
                    "method": m.method, "editcount": m.editcount, "registration": m.registration,
                });
                if !m.groups.is_empty() {
                    entry["groups"] = json!(m.groups);
                }
                if let Some((expiry, reason)) = m.blocked {
                    entry["blocked"] = json!({"expiry": expiry, "reason": reason});
                }
                entry
            })
            .collect();
        info.insert("merged".into(), Value::Array(merged));
    }
    if has("unattached") {
        info.insert("unattached".into(), json!([]));
    }
    if has("editcount") {
        info.insert("editcount".into(), json!(account.merged.iter().map(|m| m.editcount).sum::<u64>()));
    }
    Ok(Value::Object(info))
}
