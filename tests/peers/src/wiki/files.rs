//! File queries: `prop=imageinfo` (versions newest first, hidden fields omitted as MediaWiki
//! does, `iicontinue`) and `list=filearchive` (deleted file versions).

use std::collections::BTreeSet;

use md5::Digest;
use serde_json::{Map, Value, json};

use super::api::{ApiError, Ctx};
use super::data::{
    FileVersion, HIDE_COMMENT, HIDE_CONTENT, HIDE_USER, SUPPRESSED, State, Title, mw_timestamp,
};
use super::session::Caller;

const IIPROPS: [&str; 20] = [
    "timestamp",
    "user",
    "userid",
    "comment",
    "parsedcomment",
    "canonicaltitle",
    "url",
    "size",
    "dimensions",
    "sha1",
    "mime",
    "thumbmime",
    "mediatype",
    "metadata",
    "commonmetadata",
    "extmetadata",
    "archivename",
    "bitdepth",
    "uploadwarning",
    "badfile",
];

/// Where a file version is served from (Wikimedia's hashed upload paths).
pub(super) fn file_url(name: &str, archive_name: Option<&str>) -> String {
    let hash = crate::request::hex(&md5::Md5::digest(name.as_bytes()));
    let (a, ab) = (&hash[..1], &hash[..2]);
    match archive_name {
        Some(archived) => format!(
            "https://upload.wikimedia.org/wikipedia/commons/archive/{a}/{ab}/{}",
            archived.replace('!', "%21")
        ),
        None => format!("https://upload.wikimedia.org/wikipedia/commons/{a}/{ab}/{name}"),
    }
}

/// The imageinfo options of one query.
pub(super) struct ImageInfoOptions {
    props: BTreeSet<String>,
    limit: usize,
    /// From `iicontinue`: (file dbkey, MediaWiki timestamp of the first version to give).
    resume: Option<(String, String)>,
}

pub(super) fn imageinfo_options(ctx: &mut Ctx) -> Result<ImageInfoOptions, ApiError> {
    const MODULE: &str = "query+imageinfo";
    let mut props: BTreeSet<String> = ctx.known_values(MODULE, "iiprop", &IIPROPS).into_iter().collect();
    if ctx.params.raw("iiprop").is_none() {
        props.extend(["timestamp".to_owned(), "user".to_owned()]);
    }
    let limit = ctx.params.limit("iilimit", 1, 500, MODULE)?;
    let resume = ctx
        .params
        .get("iicontinue")
        .and_then(|c| c.rsplit_once('|'))
        .map(|(n, t)| (n.to_owned(), t.to_owned()));
    for name in
        ["iistart", "iiend", "iiurlwidth", "iiurlheight", "iiurlparam", "iimetadataversion", "iilocalonly"]
    {
        ctx.params.get(name);
    }
    Ok(ImageInfoOptions { props, limit, resume })
}

/// Adds `imagerepository` and `imageinfo` to a page entry of `File:` namespace; returns the
/// `iicontinue` value when versions remain.
pub(super) fn imageinfo(
    state: &State,
    ctx: &Ctx,
    title: &Title,
    entry: &mut Map<String, Value>,
    options: &ImageInfoOptions,
) -> Option<String> {
    if title.ns != 6 {
        return None;
    }
    let Some(record) = state.file_index(title).and_then(|i| state.files.get(i)) else {
        entry.insert("imagerepository".into(), json!(""));
        return None;
    };
    let foreign = record.commons_only && !ctx.commons;
    if foreign {
        entry.insert("known".into(), json!(true));
        entry.insert("imagerepository".into(), json!("shared"));
    } else {
        entry.insert("imagerepository".into(), json!("local"));
    }
    let mut versions = record.versions.iter().peekable();
    if let Some((name, stamp)) = &options.resume {
        if *name != record.name {
            return None;
        }
        while versions.peek().is_some_and(|v| mw_timestamp(&v.timestamp) > *stamp) {
            versions.next();
        }
    }
    let server = if foreign { "https://commons.wikimedia.org".to_owned() } else { ctx.server() };
    let pageid = state.page(title, ctx.commons).map(|p| p.pageid);
    let mut infos = Vec::new();
    for version in versions.by_ref().take(options.limit) {
        infos.push(version_info(version, &record.name, &options.props, &ctx.caller, &server, pageid));
    }
    entry.insert("imageinfo".into(), Value::Array(infos));
    versions.next().map(|next| format!("{}|{}", record.name, mw_timestamp(&next.timestamp)))
}

fn version_info(
    v: &FileVersion,
    name: &str,
    props: &BTreeSet<String>,
    caller: &Caller,
    server: &str,
    pageid: Option<u64>,
) -> Value {
    let has = |p: &str| props.contains(p);
    let mut info = Map::new();
    let mut any_hidden = false;
    if has("timestamp") {
        info.insert("timestamp".into(), json!(v.timestamp));
    }
    if has("user") || has("userid") {
        if v.bits & HIDE_USER != 0 {
            info.insert("userhidden".into(), json!(true));
            any_hidden = true;
        }
        if caller.can_see(v.bits, HIDE_USER) {
            if has("user") {
                info.insert("user".into(), json!(v.user));
            }
            if has("userid") {
                info.insert("userid".into(), json!(v.userid));
            }
        }
    }
    if has("size") || has("dimensions") {
        info.insert("size".into(), json!(v.size));
        info.insert("width".into(), json!(v.width));
        info.insert("height".into(), json!(v.height));
    }
    if has("comment") || has("parsedcomment") {
        if v.bits & HIDE_COMMENT != 0 {
            info.insert("commenthidden".into(), json!(true));
            any_hidden = true;
        }
        if caller.can_see(v.bits, HIDE_COMMENT) {
            if has("comment") {
                info.insert("comment".into(), json!(v.comment));
            }
            if has("parsedcomment") {
                info.insert("parsedcomment".into(), json!(super::api::escape_html(&v.comment)));
            }
        }
    }
    if v.bits & HIDE_CONTENT != 0 {
        info.insert("filehidden".into(), json!(true));
        any_hidden = true;
    }
    if any_hidden && v.bits & SUPPRESSED != 0 {
        info.insert("suppressed".into(), json!(true));
    }
    if !caller.can_see(v.bits, HIDE_CONTENT) {
        return Value::Object(info);
    }
    if has("canonicaltitle") {
        info.insert("canonicaltitle".into(), json!(format!("File:{}", name.replace('_', " "))));
    }
    if has("url") {
        info.insert("url".into(), json!(file_url(name, v.archive_name.as_deref())));
        info.insert("descriptionurl".into(), json!(format!("{server}/wiki/File:{name}")));
        if let Some(pageid) = pageid {
            info.insert("descriptionshorturl".into(), json!(format!("{server}/w/index.php?curid={pageid}")));
        }
    }
    if has("sha1") {
        info.insert("sha1".into(), json!(v.sha1));
    }
    if has("mime") {
        info.insert("mime".into(), json!(v.mime));
    }
    if has("mediatype") {
        info.insert("mediatype".into(), json!("BITMAP"));
    }
    if has("archivename")
        && let Some(archived) = &v.archive_name
    {
        info.insert("archivename".into(), json!(archived));
    }
    if has("bitdepth") {
        info.insert("bitdepth".into(), json!(8));
    }
    Value::Object(info)
}

/// `list=filearchive`: returns the rows and the `facontinue` value when more remain.
pub(super) fn filearchive(state: &State, ctx: &mut Ctx) -> Result<(Value, Option<String>), ApiError> {
    const MODULE: &str = "query+filearchive";
    const PROPS: [&str; 11] = [
        "sha1",
        "timestamp",
        "user",
        "size",
        "dimensions",
        "description",
        "parseddescription",
        "mime",
        "mediatype",
        "metadata",
        "archivename",
    ];
    if !ctx.caller.can("deletedhistory") {
        return Err(ApiError::permission(MODULE, "view deleted file descriptions"));
    }
    let mut props: BTreeSet<String> = ctx.known_values(MODULE, "faprop", &PROPS).into_iter().collect();
    if ctx.params.raw("faprop").is_none() {
        props.insert("timestamp".into());
    }
    let limit = ctx.params.limit("falimit", 10, 500, MODULE)?;
    let offset: usize = ctx.params.get("facontinue").and_then(|c| c.parse().ok()).unwrap_or(0);
    let sha1 = ctx.params.get("fasha1").map(str::to_ascii_lowercase);
    let prefix = ctx.params.get("faprefix").map(|p| p.replace(' ', "_"));
    let from = ctx.params.get("fafrom").map(|p| p.replace(' ', "_"));
    for name in ["fato", "fadir", "fasha1base36"] {
        ctx.params.get(name);
    }
    let mut rows: Vec<&super::data::ArchivedFile> = state
        .filearchive
        .iter()
        .filter(|a| sha1.as_ref().is_none_or(|s| a.version.sha1 == *s))
        .filter(|a| prefix.as_ref().is_none_or(|p| a.name.starts_with(p.as_str())))
        .filter(|a| from.as_ref().is_none_or(|f| a.name.as_str() >= f.as_str()))
        .collect();
    rows.sort_by(|a, b| {
        a.name.cmp(&b.name).then(b.version.timestamp.cmp(&a.version.timestamp)).then(a.id.cmp(&b.id))
    });
    let has = |p: &str| props.contains(p);
    let caller = &ctx.caller;
    let mut out = Vec::new();
    for a in rows.iter().skip(offset).take(limit) {
        let v = &a.version;
        let mut row = Map::new();
        row.insert("id".into(), json!(a.id));
        row.insert("name".into(), json!(a.name));
        row.insert("ns".into(), json!(6));
        row.insert("title".into(), json!(format!("File:{}", a.name.replace('_', " "))));
        if v.bits & HIDE_USER != 0 {
            row.insert("userhidden".into(), json!(true));
        }
        if v.bits & HIDE_COMMENT != 0 {
            row.insert("commenthidden".into(), json!(true));
        }
        if v.bits & HIDE_CONTENT != 0 {
            row.insert("filehidden".into(), json!(true));
        }
        if v.bits & SUPPRESSED != 0 {
            row.insert("suppressed".into(), json!(true));
        }
        if has("sha1") && caller.can_see(v.bits, HIDE_CONTENT) {
            row.insert("sha1".into(), json!(v.sha1));
        }
        if has("timestamp") {
            row.insert("timestamp".into(), json!(v.timestamp));
        }
        if has("user") && caller.can_see(v.bits, HIDE_USER) {
            row.insert("userid".into(), json!(v.userid));
            row.insert("user".into(), json!(v.user));
        }
        if (has("size") || has("dimensions")) && caller.can_see(v.bits, HIDE_CONTENT) {
            row.insert("size".into(), json!(v.size));
            row.insert("width".into(), json!(v.width));
            row.insert("height".into(), json!(v.height));
        }
        if has("description") && caller.can_see(v.bits, HIDE_COMMENT) {
            row.insert("description".into(), json!(v.comment));
        }
        if has("mime") && caller.can_see(v.bits, HIDE_CONTENT) {
            row.insert("mime".into(), json!(v.mime));
        }
        if has("archivename")
            && let Some(archived) = &v.archive_name
        {
            row.insert("archivename".into(), json!(archived));
        }
        out.push(Value::Object(row));
    }
    let next = (offset + limit < rows.len()).then(|| (offset + limit).to_string());
    Ok((Value::Array(out), next))
}
