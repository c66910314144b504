//! `action=delete` (pages, files, single old file versions) and `action=revisiondelete`
//! (revisions, deleted revisions, old file versions, archived files), with MediaWiki's
//! per-item statuses.

use serde_json::{Map, Value, json};

use super::api::{ApiError, Ctx};
use super::data::{
    ArchivedFile, DeletedPage, FileVersion, HIDE_COMMENT, HIDE_CONTENT, HIDE_USER, SUPPRESSED, State, Title,
    hidden_names, now_iso,
};
use super::edit::target_title;
use super::files::file_url;
use super::session::wrap;

/// Whether `oldimage` looks like an archive name (`<14 digits>!<name>`, no slashes).
fn valid_old_spec(spec: &str) -> bool {
    let Some((stamp, name)) = spec.split_once('!') else { return false };
    stamp.len() == 14
        && stamp.bytes().all(|b| b.is_ascii_digit())
        && !name.is_empty()
        && !spec.contains('/')
        && !spec.contains('\\')
}

pub(super) fn delete(state: &mut State, ctx: &mut Ctx) -> Result<Map<String, Value>, ApiError> {
    const MODULE: &str = "delete";
    let title = target_title(state, ctx, MODULE)?;
    let reason = ctx.params.get("reason").unwrap_or("").to_owned();
    let oldimage = ctx.params.get("oldimage").map(str::to_owned);
    let deletetalk = ctx.params.flag("deletetalk");
    for name in ["tags", "watch", "watchlist", "watchlistexpiry", "unwatch"] {
        ctx.params.get(name);
    }
    if !ctx.caller.can("delete") {
        return Err(ApiError::permission(MODULE, "delete pages"));
    }
    let user = ctx.caller.name();
    let now = now_iso();
    let local_file = state
        .file_index(&title)
        .filter(|i| ctx.commons || state.files.get(*i).is_some_and(|f| !f.commons_only));
    let page_index = state.page_index(&title, ctx.commons);
    if page_index.is_none() && local_file.is_none() {
        return Err(ApiError::new("missingtitle", "The page you specified doesn't exist.").module(MODULE));
    }
    if let Some(spec) = oldimage {
        ctx.note("oldimage", json!(spec));
        if !valid_old_spec(&spec) {
            return Err(ApiError::new(
                "invalidoldimage",
                "The \"oldimage\" parameter has an invalid format.",
            )
            .module(MODULE));
        }
        let found = local_file.and_then(|fi| {
            let file = state.files.get(fi)?;
            let vi = file.versions.iter().position(|v| v.archive_name.as_deref() == Some(spec.as_str()))?;
            Some((fi, vi))
        });
        let Some((fi, vi)) = found else {
            return Err(ApiError::new("nodeleteablefile", "No such old version of the file.").module(MODULE));
        };
        let (name, version) = match state.files.get_mut(fi) {
            Some(file) => (file.name.clone(), file.versions.remove(vi)),
            None => {
                return Err(
                    ApiError::new("nodeleteablefile", "No such old version of the file.").module(MODULE)
                );
            }
        };
        archive_file(state, &name, version, &user, &reason, &now);
        let logid = state.next_logid();
        state.deletions.push(json!({
            "title": title.text, "kind": "file-version", "archivename": spec, "reason": reason,
            "user": user, "logid": logid, "at": now,
        }));
        return Ok(wrap("delete", result(&title, &reason, Some(logid))));
    }
    let huge = page_index.and_then(|i| state.pages.get(i)).is_some_and(|p| p.huge);
    delete_page(state, page_index, local_file, &user, &reason, &now);
    let logid = if huge { None } else { Some(state.next_logid()) };
    state.deletions.push(json!({
        "title": title.text, "kind": if local_file.is_some() { "file" } else { "page" }, "reason": reason,
        "user": user, "logid": logid, "scheduled": huge, "at": now,
    }));
    if huge {
        ctx.warn(MODULE, "delete-scheduled", &format!("Deletion of \"{}\" has been scheduled.", title.text));
    }
    if deletetalk
        && title.ns % 2 == 0
        && let Some(talk) = talk_title(&title)
        && let Some(talk_index) = state.page_index(&talk, ctx.commons)
    {
        delete_page(state, Some(talk_index), None, &user, &reason, &now);
        let talk_logid = state.next_logid();
        state.deletions.push(json!({
            "title": talk.text, "kind": "page", "reason": reason, "user": user, "logid": talk_logid, "at": now,
        }));
    }
    let mut body = result(&title, &reason, logid);
    if huge {
        body.insert("scheduled".into(), json!(true));
    }
    Ok(wrap("delete", body))
}

fn result(title: &Title, reason: &str, logid: Option<u64>) -> Map<String, Value> {
    let mut body = Map::new();
    body.insert("title".into(), json!(title.text));
    body.insert("reason".into(), json!(reason));
    if let Some(logid) = logid {
        body.insert("logid".into(), json!(logid));
    }
    body
}

fn talk_title(title: &Title) -> Option<Title> {
    let talk_ns = title.ns + 1;
    let name = super::data::namespace_name(talk_ns)?;
    let main = title.dbkey().replace('_', " ");
    Some(Title { ns: talk_ns, text: format!("{name}:{main}") })
}

fn delete_page(
    state: &mut State,
    page_index: Option<usize>,
    file_index: Option<usize>,
    user: &str,
    reason: &str,
    now: &str,
) {
    if let Some(i) = page_index
        && i < state.pages.len()
    {
        let page = state.pages.remove(i);
        state.deleted_pages.push(DeletedPage {
            title: page.title,
            pageid: page.pageid,
            revisions: page.revisions,
            deleted_at: now.to_owned(),
        });
    }
    if let Some(fi) = file_index
        && fi < state.files.len()
    {
        let file = state.files.remove(fi);
        for version in file.versions {
            archive_file(state, &file.name, version, user, reason, now);
        }
    }
}

fn archive_file(state: &mut State, name: &str, version: FileVersion, user: &str, reason: &str, now: &str) {
    let id = state.next_fa_id();
    state.filearchive.push(ArchivedFile {
        id,
        name: name.to_owned(),
        version,
        deleted_by: user.to_owned(),
        deleted_reason: reason.to_owned(),
        deleted_at: now.to_owned(),
    });
}

/// Where an item of a revision-deletion request lives.
#[derive(Clone, Copy)]
enum Location {
    Revision { page: usize, rev: usize },
    Archive { page: usize, rev: usize },
    OldImage { file: usize, version: usize },
    FileArchive { row: usize },
}

pub(super) fn revisiondelete(state: &mut State, ctx: &mut Ctx) -> Result<Map<String, Value>, ApiError> {
    const MODULE: &str = "revisiondelete";
    let Some(kind) = ctx.params.get("type").map(str::to_owned) else {
        return Err(ApiError::missing("type", MODULE));
    };
    if !["revision", "archive", "oldimage", "filearchive", "logging"].contains(&kind.as_str()) {
        return Err(ApiError::new(
            "badvalue",
            &format!("Unrecognized value for parameter \"type\": {kind}."),
        )
        .module(MODULE));
    }
    let needed = if kind == "logging" { "deletelogentry" } else { "deleterevision" };
    if !ctx.caller.can(needed) {
        return Err(ApiError::permission(MODULE, "change the visibility of revisions"));
    }
    if ctx.params.raw("ids").is_none() {
        return Err(ApiError::missing("ids", MODULE));
    }
    let mut ids: Vec<String> = Vec::new();
    for id in ctx.params.list("ids") {
        if !id.is_empty() && !ids.contains(&id) {
            ids.push(id);
        }
    }
    if ids.is_empty() {
        return Err(ApiError::new("paramempty_ids", "The \"ids\" parameter may not be empty.").module(MODULE));
    }
    ctx.params.get("tags");
    let hide = ctx.known_values(MODULE, "hide", &["content", "comment", "user"]);
    let show = ctx.known_values(MODULE, "show", &["content", "comment", "user"]);
    if hide.iter().any(|h| show.contains(h)) {
        return Err(
            ApiError::new("badparams", "The same field cannot be used in both hide and show.").module(MODULE)
        );
    }
    if hide.is_empty() && show.is_empty() {
        return Err(
            ApiError::new("badparams", "At least one value is required for hide and/or show.").module(MODULE)
        );
    }
    let suppress = ctx.params.get("suppress").unwrap_or("nochange").to_owned();
    let bit = |name: &str| match name {
        "content" => HIDE_CONTENT,
        "comment" => HIDE_COMMENT,
        _ => HIDE_USER,
    };
    let mut set: u8 = hide.iter().map(|h| bit(h)).fold(0, |a, b| a | b);
    let mut clear: u8 = show.iter().map(|s| bit(s)).fold(0, |a, b| a | b);
    match suppress.as_str() {
        "yes" => {
            if !ctx.caller.can("suppressrevision") {
                return Err(ApiError::permission(MODULE, "suppress revisions (suppressrevision)"));
            }
            set |= SUPPRESSED;
        }
        "no" => clear |= SUPPRESSED,
        "nochange" => {}
        other => {
            return Err(ApiError::new(
                "badvalue",
                &format!("Unrecognized value for parameter \"suppress\": {other}."),
            )
            .module(MODULE));
        }
    }
    let reason = ctx.params.get("reason").unwrap_or("").to_owned();
    let target =
        match ctx.params.get("target") {
            Some(raw) => Some(Title::parse(raw).map_err(|_| {
                ApiError::new("invalidtitle", &format!("Bad title \"{raw}\".")).module(MODULE)
            })?),
            None => None,
        };
    let Some(target) = target else {
        return Err(
            ApiError::new("needtarget", "A target title is required for this RevDel type.").module(MODULE)
        );
    };

    let mut items: Vec<Value> = Vec::new();
    let mut journal_items: Vec<Value> = Vec::new();
    for id in &ids {
        let location = locate(state, ctx, &kind, &target, id);
        let id_value = numeric_id(id);
        let Some(location) = location else {
            let errors = ctx.format.status_list(
                "error",
                &[(
                    "revdelete-modify-missing".into(),
                    format!("Error modifying item ID {id}: It is missing from the database!"),
                )],
            );
            items.push(json!({"status": "Fail", "errors": errors, "id": id_value}));
            journal_items.push(json!({"id": id, "status": "Fail", "code": "revdelete-modify-missing"}));
            continue;
        };
        let (old, when, current) = item_state(state, location);
        let new = (old | set) & !clear;
        let (status, message): (&str, Option<(&str, &str, String)>) = if old == new {
            (
                "Success",
                Some((
                    "warning",
                    "revdelete-no-change",
                    format!("Warning: The item dated {when} already had the requested visibility settings."),
                )),
            )
        } else if current && new & HIDE_CONTENT != 0 {
            (
                "Fail",
                Some((
                    "error",
                    "revdelete-hide-current",
                    format!(
                        "Error hiding the item dated {when}: This is the current revision. It cannot be hidden."
                    ),
                )),
            )
        } else if old & SUPPRESSED != 0 && !ctx.caller.can("suppressrevision") {
            (
                "Fail",
                Some((
                    "error",
                    "revdelete-modify-no-access",
                    format!(
                        "Error modifying the item dated {when}: This item has been marked \"restricted\". You do not have access to it."
                    ),
                )),
            )
        } else if new == SUPPRESSED {
            (
                "Success",
                Some((
                    "warning",
                    "revdelete-only-restricted",
                    format!(
                        "Error hiding the item dated {when}: You cannot suppress items from view by administrators without also selecting one of the other visibility options."
                    ),
                )),
            )
        } else {
            set_bits(state, location, new);
            ("Success", None)
        };
        let mut item = Map::new();
        item.insert("status".into(), json!(status));
        if let Some((type_, code, text)) = &message {
            let key = if *type_ == "error" { "errors" } else { "warnings" };
            item.insert(key.into(), ctx.format.status_list(type_, &[((*code).to_owned(), text.clone())]));
        }
        item.insert("id".into(), id_value);
        for (key, value) in item_data(state, ctx, location, &target) {
            item.entry(key).or_insert(value);
        }
        journal_items.push(json!({
            "id": id,
            "status": status,
            "code": message.as_ref().map(|m| m.1),
            "hidden": hidden_names(item_state(state, location).0),
        }));
        items.push(Value::Object(item));
    }
    ctx.note("type", json!(kind));
    ctx.note("items", json!(journal_items));
    state.revision_deletions.push(json!({
        "type": kind, "target": target.text, "ids": ids, "hide": hide, "show": show, "suppress": suppress,
        "reason": reason, "user": ctx.caller.name(), "items": journal_items,
    }));
    let mut body = Map::new();
    body.insert("status".into(), json!("Success"));
    body.insert("target".into(), json!(target.text));
    body.insert("items".into(), Value::Array(items));
    Ok(wrap("revisiondelete", body))
}

/// PHP turns numeric array keys into integers, so all-digit ids come back as numbers.
fn numeric_id(id: &str) -> Value {
    match id.parse::<u64>() {
        Ok(n) if !id.starts_with('0') || id == "0" => json!(n),
        _ => json!(id),
    }
}

fn locate(state: &State, ctx: &Ctx, kind: &str, target: &Title, id: &str) -> Option<Location> {
    match kind {
        "revision" => {
            let page = state.page_index(target, ctx.commons)?;
            let revid: u64 = id.parse().ok()?;
            let rev = state.pages.get(page)?.revisions.iter().position(|r| r.revid == revid)?;
            Some(Location::Revision { page, rev })
        }
        "archive" => {
            let revid: u64 = id.parse().ok()?;
            state.deleted_pages.iter().enumerate().filter(|(_, d)| d.title == *target).find_map(
                |(page, d)| {
                    d.revisions
                        .iter()
                        .position(|r| r.revid == revid)
                        .map(|rev| Location::Archive { page, rev })
                },
            )
        }
        "oldimage" => {
            let file = state.file_index(target)?;
            let record = state.files.get(file)?;
            if record.commons_only && !ctx.commons {
                return None;
            }
            let wanted = format!("{id}!{}", record.name);
            let version =
                record.versions.iter().position(|v| v.archive_name.as_deref() == Some(wanted.as_str()))?;
            Some(Location::OldImage { file, version })
        }
        "filearchive" => {
            let fa_id: u64 = id.parse().ok()?;
            let name = target.dbkey();
            let row = state.filearchive.iter().position(|a| a.id == fa_id && a.name == name)?;
            Some(Location::FileArchive { row })
        }
        _ => None,
    }
}

/// (bits, timestamp, whether it is the current revision).
fn item_state(state: &State, location: Location) -> (u8, String, bool) {
    match location {
        Location::Revision { page, rev } => state
            .pages
            .get(page)
            .and_then(|p| {
                p.revisions.get(rev).map(|r| (r.bits, r.timestamp.clone(), rev + 1 == p.revisions.len()))
            })
            .unwrap_or_default(),
        Location::Archive { page, rev } => state
            .deleted_pages
            .get(page)
            .and_then(|p| p.revisions.get(rev))
            .map(|r| (r.bits, r.timestamp.clone(), false))
            .unwrap_or_default(),
        Location::OldImage { file, version } => state
            .files
            .get(file)
            .and_then(|f| f.versions.get(version))
            .map(|v| (v.bits, v.timestamp.clone(), false))
            .unwrap_or_default(),
        Location::FileArchive { row } => state
            .filearchive
            .get(row)
            .map(|a| (a.version.bits, a.version.timestamp.clone(), false))
            .unwrap_or_default(),
    }
}

fn set_bits(state: &mut State, location: Location, bits: u8) {
    match location {
        Location::Revision { page, rev } => {
            if let Some(r) = state.pages.get_mut(page).and_then(|p| p.revisions.get_mut(rev)) {
                r.bits = bits;
            }
        }
        Location::Archive { page, rev } => {
            if let Some(r) = state.deleted_pages.get_mut(page).and_then(|p| p.revisions.get_mut(rev)) {
                r.bits = bits;
            }
        }
        Location::OldImage { file, version } => {
            if let Some(v) = state.files.get_mut(file).and_then(|f| f.versions.get_mut(version)) {
                v.bits = bits;
            }
        }
        Location::FileArchive { row } => {
            if let Some(a) = state.filearchive.get_mut(row) {
                a.version.bits = bits;
            }
        }
    }
}

/// What `getApiData` adds to an item, after the change.
fn item_data(state: &State, ctx: &Ctx, location: Location, target: &Title) -> Map<String, Value> {
    let mut data = Map::new();
    let caller = &ctx.caller;
    let revision = |r: &super::data::Revision, data: &mut Map<String, Value>| {
        data.insert("id".into(), json!(r.revid));
        data.insert("timestamp".into(), json!(r.timestamp));
        data.insert("userhidden".into(), json!(r.bits & HIDE_USER != 0));
        data.insert("commenthidden".into(), json!(r.bits & HIDE_COMMENT != 0));
        data.insert("texthidden".into(), json!(r.bits & HIDE_CONTENT != 0));
        if caller.can_see(r.bits, HIDE_USER) {
            data.insert("userid".into(), json!(r.userid));
            data.insert("user".into(), json!(r.user));
        }
        if caller.can_see(r.bits, HIDE_COMMENT) {
            data.insert("comment".into(), json!(r.summary));
        }
    };
    let file = |v: &FileVersion, data: &mut Map<String, Value>| {
        data.insert("timestamp".into(), json!(v.timestamp));
        data.insert("width".into(), json!(v.width));
        data.insert("height".into(), json!(v.height));
        data.insert("size".into(), json!(v.size));
        data.insert("userhidden".into(), json!(v.bits & HIDE_USER != 0));
        data.insert("commenthidden".into(), json!(v.bits & HIDE_COMMENT != 0));
        data.insert("contenthidden".into(), json!(v.bits & HIDE_CONTENT != 0));
        if caller.can_see(v.bits, HIDE_USER) {
            data.insert("userid".into(), json!(v.userid));
            data.insert("user".into(), json!(v.user));
        }
        if caller.can_see(v.bits, HIDE_COMMENT) && !v.comment.is_empty() {
            data.insert("comment".into(), json!(v.comment));
        }
    };
    match location {
        Location::Revision { page, rev } => {
            if let Some(r) = state.pages.get(page).and_then(|p| p.revisions.get(rev)) {
                revision(r, &mut data);
            }
        }
        Location::Archive { page, rev } => {
            if let Some(r) = state.deleted_pages.get(page).and_then(|p| p.revisions.get(rev)) {
                revision(r, &mut data);
            }
        }
        Location::OldImage { file: fi, version } => {
            if let Some(record) = state.files.get(fi)
                && let Some(v) = record.versions.get(version)
            {
                data.insert("title".into(), json!(target.text));
                data.insert("archivename".into(), json!(v.archive_name));
                file(v, &mut data);
                if v.bits & HIDE_CONTENT == 0 {
                    data.insert("url".into(), json!(file_url(&record.name, v.archive_name.as_deref())));
                }
            }
        }
        Location::FileArchive { row } => {
            if let Some(a) = state.filearchive.get(row) {
                data.insert("id".into(), json!(a.id));
                data.insert("title".into(), json!(target.text));
                data.insert("name".into(), json!(a.name));
                file(&a.version, &mut data);
            }
        }
    }
    data
}
