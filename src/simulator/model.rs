//! The simulator's site model: projects, boards (with configuration), sprints and issues, the
//! JSON Jira would serve for each, and the rows a complete sync must produce.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, Timelike};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Map, Value};

use crate::schema::Table;

/// One expected row: UPPER-CASE column name -> value (JSON null when absent).
pub type ExpectedRow = BTreeMap<String, Value>;

/// Table name (`BOARD`, `SPRINT`, `BOARD_SPRINT`, `BOARD_PROJECT`, `BOARD_ISSUE`) -> rows, sorted
/// by the table's key.
pub type ExpectedTables = BTreeMap<String, Vec<ExpectedRow>>;

/// Custom field id that holds the rank on generated sites (`customfield_10019`).
pub const DEFAULT_RANK_FIELD: i64 = 10019;

/// Statuses known to the simulated site: (id, name, status category key).
const STATUSES: [(i64, &str, &str); 5] = [
    (1, "Open", "new"),
    (3, "In Progress", "indeterminate"),
    (10000, "To Do", "new"),
    (10001, "Done", "done"),
    (10002, "In Review", "indeterminate"),
];

/// Parameters of a generated site. The same spec always yields the same site and the same JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteSpec {
    /// Seed of the pseudo-random generator.
    pub seed: u64,
    /// Number of boards (some hidden from the token, see `hidden_board_percent`).
    pub boards: usize,
    /// Average number of issues per board (each board gets 50 %..150 % of it).
    pub issues_per_board: usize,
    /// Number of projects.
    pub projects: usize,
    /// Average number of sprints per sprint-capable board.
    pub sprints_per_board: usize,
    /// Share of issues hidden from the token, in percent.
    pub hidden_issue_percent: u32,
    /// Share of boards hidden from the token, in percent.
    pub hidden_board_percent: u32,
    /// Share of boards whose `/configuration` answers 401, 403 or 404, in percent.
    pub config_error_percent: u32,
    /// Share of sprint-capable boards that also list a sprint of another board, in percent.
    pub shared_sprint_percent: u32,
}

impl SiteSpec {
    /// A small site: a few dozen boards and a few thousand issues, with every quirk present.
    pub fn demo() -> SiteSpec {
        SiteSpec {
            seed: 42,
            boards: 36,
            issues_per_board: 80,
            projects: 8,
            sprints_per_board: 6,
            hidden_issue_percent: 3,
            hidden_board_percent: 3,
            config_error_percent: 8,
            shared_sprint_percent: 15,
        }
    }

    /// A large site for benchmarks: 3,000 boards and about 300,000 board-issue rows.
    pub fn large() -> SiteSpec {
        SiteSpec {
            seed: 7,
            boards: 3000,
            issues_per_board: 100,
            projects: 200,
            sprints_per_board: 8,
            ..SiteSpec::demo()
        }
    }
}

/// Board type as Jira names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoardKind {
    /// `scrum`: supports sprints.
    Scrum,
    /// `kanban`: the sprint endpoint answers 400.
    Kanban,
    /// `simple` (team-managed): some support sprints, some answer 400.
    Simple,
}

impl BoardKind {
    /// The `type` value Jira serves.
    pub fn as_str(self) -> &'static str {
        match self {
            BoardKind::Scrum => "scrum",
            BoardKind::Kanban => "kanban",
            BoardKind::Simple => "simple",
        }
    }
}

/// Sprint state; boards list sprints closed first, then active, then future.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SprintState {
    /// `closed`: has every date.
    Closed,
    /// `active`: no `completeDate`.
    Active,
    /// `future`: no start, end, complete or activated date.
    Future,
}

impl SprintState {
    /// The `state` value Jira serves.
    pub fn as_str(self) -> &'static str {
        match self {
            SprintState::Closed => "closed",
            SprintState::Active => "active",
            SprintState::Future => "future",
        }
    }
}

/// A project of the site.
#[derive(Debug, Clone, PartialEq)]
pub struct Project {
    /// Project id (served as a JSON string).
    pub id: i64,
    /// Project key, e.g. `PA`.
    pub key: String,
    /// Display name.
    pub name: String,
    /// `projectTypeKey`: `software`, `business`, ...
    pub type_key: String,
    /// `style`: `classic` or `next-gen`.
    pub style: String,
    /// `simplified`: true for team-managed projects.
    pub simplified: bool,
}

/// A board's `location` object; every field is optional and only present fields are served.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BoardLocation {
    /// `type`: `project` or `user`.
    pub location_type: Option<String>,
    /// `projectId` (JSON integer).
    pub project_id: Option<i64>,
    /// `projectKey`.
    pub project_key: Option<String>,
    /// `projectName`.
    pub project_name: Option<String>,
    /// `projectTypeKey`.
    pub project_type_key: Option<String>,
    /// `displayName`.
    pub display_name: Option<String>,
    /// `name`.
    pub name: Option<String>,
    /// `userAccountId` (user locations).
    pub user_account_id: Option<String>,
    /// `avatarURI`: served, not mapped to a column (it only shows in RAW).
    pub avatar_uri: Option<String>,
}

impl BoardLocation {
    /// A project location as Jira serves it for a board located in `project`.
    pub fn project(project: &Project) -> BoardLocation {
        let display = format!("{} ({})", project.name, project.key);
        BoardLocation {
            location_type: Some("project".into()),
            project_id: Some(project.id),
            project_key: Some(project.key.clone()),
            project_name: Some(project.name.clone()),
            project_type_key: Some(project.type_key.clone()),
            display_name: Some(display.clone()),
            name: Some(display),
            user_account_id: None,
            avatar_uri: Some(format!(
                "/secure/projectavatar?size=small&pid={}&avatarId=10400",
                project.id
            )),
        }
    }

    /// A user location (a board located in a user's space).
    pub fn user(account_id: &str, display_name: &str) -> BoardLocation {
        BoardLocation {
            location_type: Some("user".into()),
            user_account_id: Some(account_id.into()),
            display_name: Some(display_name.into()),
            name: Some(display_name.into()),
            ..BoardLocation::default()
        }
    }

    fn to_json(&self) -> Value {
        let mut m = Map::new();
        let mut put = |k: &str, v: Option<Value>| {
            if let Some(v) = v {
                m.insert(k.into(), v);
            }
        };
        put("type", self.location_type.clone().map(Value::from));
        put("projectId", self.project_id.map(Value::from));
        put(
            "userAccountId",
            self.user_account_id.clone().map(Value::from),
        );
        put("displayName", self.display_name.clone().map(Value::from));
        put("projectName", self.project_name.clone().map(Value::from));
        put("projectKey", self.project_key.clone().map(Value::from));
        put(
            "projectTypeKey",
            self.project_type_key.clone().map(Value::from),
        );
        put("name", self.name.clone().map(Value::from));
        Value::Object(m)
    }
}

/// The `estimation` object of a board configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimation {
    /// `estimation.type`, e.g. `field`.
    pub estimation_type: String,
    /// `estimation.field.fieldId`, e.g. `customfield_10016`.
    pub field_id: Option<String>,
    /// `estimation.field.displayName`.
    pub field_name: Option<String>,
}

/// What `/board/{id}/configuration` serves for a board.
#[derive(Debug, Clone, PartialEq)]
pub struct BoardConfig {
    /// `filter.id` (served as a JSON string).
    pub filter_id: i64,
    /// `subQuery.query` (kanban boards).
    pub sub_query: Option<String>,
    /// `columnConfig`, served as is.
    pub column_config: Value,
    /// `estimation` (scrum and some simple boards).
    pub estimation: Option<Estimation>,
    /// `ranking.rankCustomFieldId`.
    pub rank_custom_field_id: Option<i64>,
}

/// A board of the site.
#[derive(Debug, Clone, PartialEq)]
pub struct Board {
    /// Board id.
    pub id: i64,
    /// Board name.
    pub name: String,
    /// Board type.
    pub kind: BoardKind,
    /// `location`; `None` serves no `location` at all.
    pub location: Option<BoardLocation>,
    /// `isPrivate`; `None` serves no such field.
    pub is_private: Option<bool>,
    /// Hidden from the token: not listed, 404 everywhere.
    pub hidden: bool,
    /// Whether `/sprint` answers 200 (kanban boards never do).
    pub supports_sprints: bool,
    /// Project ids served by `/board/{id}/project`, in order.
    pub projects: Vec<i64>,
    /// Sprint ids linked to the board (served closed, active, future, then by id).
    pub sprints: Vec<i64>,
    /// Issue ids on the board, kept sorted ascending (the served order).
    pub issues: Vec<i64>,
    /// The configuration.
    pub config: BoardConfig,
    /// When set, `/configuration` answers this status (401, 403, 404) instead of the config.
    pub config_status: Option<u16>,
}

/// A sprint of the site. Dates are the exact strings served (`...000+10:00` or `...000Z`).
#[derive(Debug, Clone, PartialEq)]
pub struct Sprint {
    /// Sprint id.
    pub id: i64,
    /// Id named in the `self` URL (Jira's own example has one that differs from `id`).
    pub self_id: i64,
    /// State.
    pub state: SprintState,
    /// Name.
    pub name: String,
    /// `startDate`.
    pub start_date: Option<String>,
    /// `endDate`.
    pub end_date: Option<String>,
    /// `completeDate`.
    pub complete_date: Option<String>,
    /// `createdDate`.
    pub created_date: Option<String>,
    /// `activatedDate`.
    pub activated_date: Option<String>,
    /// `originBoardId`; may be absent.
    pub origin_board_id: Option<i64>,
    /// `goal`; may be absent or an empty string.
    pub goal: Option<String>,
}

/// An issue of the site.
#[derive(Debug, Clone, PartialEq)]
pub struct Issue {
    /// Issue id (served as a JSON string).
    pub id: i64,
    /// Issue key, e.g. `PA-12`.
    pub key: String,
    /// `fields.project.id`.
    pub project_id: i64,
    /// `fields.status.id`.
    pub status_id: i64,
    /// `fields.summary`.
    pub summary: String,
    /// `fields.sprint.id` (current sprint).
    pub sprint_id: Option<i64>,
    /// `fields.closedSprints[].id`, in the served order.
    pub closed_sprint_ids: Vec<i64>,
    /// `fields.flagged`.
    pub flagged: bool,
    /// `fields.parent.id`.
    pub parent_id: Option<i64>,
    /// Custom fields by field id (`customfield_10016` -> 3.0, `customfield_10019` -> rank).
    pub custom_fields: BTreeMap<String, Value>,
    /// `fields.updated`, e.g. `2024-03-31T01:30:00.000+0100`.
    pub updated: String,
    /// `fields.created`, same style.
    pub created: String,
    /// Hidden from the token: never served.
    pub hidden: bool,
}

/// Switchable server behaviours. The defaults are Jira's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quirks {
    /// Page cap for boards, sprints and projects (Jira: 50).
    pub page_cap: usize,
    /// Page cap for board issues (Jira: commonly 100).
    pub issue_page_cap: usize,
    /// Serve `total` on sprint pages (Jira: usually not).
    pub sprint_total: bool,
    /// Serve `isLast` on issue pages (Jira: never).
    pub issue_is_last: bool,
    /// Remove hidden items after cutting the page (Jira: yes), so pages can be short or empty
    /// without being last and `total` counts hidden items. When false, hidden items are removed
    /// first and every page but the last is full.
    pub hide_after_cut: bool,
    /// Language of the token owner: error messages are translated to it unless the request
    /// sends `Accept-Language: en`. Known: `en`, `de`, `fr`.
    pub owner_language: String,
}

impl Default for Quirks {
    fn default() -> Self {
        Quirks {
            page_cap: 50,
            issue_page_cap: 100,
            sprint_total: false,
            issue_is_last: false,
            hide_after_cut: true,
            owner_language: "de".into(),
        }
    }
}

/// The simulated site: the simulator's whole idea of the truth.
#[derive(Debug, Clone, PartialEq)]
pub struct Site {
    /// Base of every `self` URL (not the simulator's address, like a real site behind a proxy).
    pub site_url: String,
    /// Switchable server behaviours.
    pub quirks: Quirks,
    projects: BTreeMap<i64, Project>,
    boards: BTreeMap<i64, Board>,
    sprints: BTreeMap<i64, Sprint>,
    issues: BTreeMap<i64, Issue>,
    issue_counters: HashMap<i64, u64>,
    next_board: i64,
    next_sprint: i64,
    next_issue: i64,
    next_project: i64,
}

/// Jira's timestamp layout with milliseconds `.000`: the wall time at `offset_secs` east of UTC,
/// then `Z` (`zulu`, offset 0 only), `+10:00` (`colon`) or `+0100` (neither).
fn jira_timestamp(epoch_secs: i64, offset_secs: i32, zulu: bool, colon: bool) -> String {
    use std::fmt::Write;

    let wall = DateTime::from_timestamp(epoch_secs + i64::from(offset_secs), 0)
        .expect("generated timestamps are in range")
        .naive_utc();
    let mut out = String::with_capacity(29);
    let _ = write!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.000",
        wall.year(),
        wall.month(),
        wall.day(),
        wall.hour(),
        wall.minute(),
        wall.second()
    );
    if zulu && offset_secs == 0 {
        out.push('Z');
        return out;
    }
    let sign = if offset_secs < 0 { '-' } else { '+' };
    let abs = offset_secs.unsigned_abs();
    let (h, m) = (abs / 3600, abs % 3600 / 60);
    let _ = if colon {
        write!(out, "{sign}{h:02}:{m:02}")
    } else {
        write!(out, "{sign}{h:02}{m:02}")
    };
    out
}

/// Format a sprint date: `Z` style when `offset_secs` is zero, else `+10:00` style.
pub(crate) fn sprint_date(epoch_secs: i64, offset_secs: i32) -> String {
    jira_timestamp(epoch_secs, offset_secs, true, true)
}

/// Format an issue date in Jira's issue style: `2024-03-31T01:30:00.000+0100`.
pub(crate) fn issue_date(epoch_secs: i64, offset_secs: i32) -> String {
    jira_timestamp(epoch_secs, offset_secs, false, false)
}

/// Microseconds since the epoch of a served timestamp string (either style), or null.
fn micros(s: Option<&str>) -> Value {
    let Some(s) = s else { return Value::Null };
    // Sprint dates are RFC 3339; issue dates lack the colon in the offset.
    let rfc3339 = s.ends_with('Z') || s.as_bytes().get(s.len().wrapping_sub(3)) == Some(&b':');
    let parsed = if rfc3339 {
        DateTime::parse_from_rfc3339(s)
    } else {
        DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z")
    };
    match parsed {
        Ok(t) => Value::from(t.timestamp_micros()),
        Err(_) => Value::Null,
    }
}

fn opt<T: Into<Value>>(v: Option<T>) -> Value {
    v.map_or(Value::Null, Into::into)
}

fn row(pairs: Vec<(&str, Value)>) -> ExpectedRow {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// Letters-only project key for index `i` (`PA`, `PB`, ..., `PZ`, `PBA`, ...).
fn project_key(mut i: usize) -> String {
    let mut letters = Vec::new();
    loop {
        letters.push(b'A' + (i % 26) as u8);
        i /= 26;
        if i == 0 {
            break;
        }
    }
    letters.reverse();
    format!("P{}", String::from_utf8_lossy(&letters))
}

fn default_column_config() -> Value {
    let columns: Vec<Value> = [
        ("To Do", &[10000, 1][..]),
        ("In Progress", &[3, 10002]),
        ("Done", &[10001]),
    ]
    .iter()
    .map(|(name, ids)| {
        json!({
            "name": name,
            "statuses": ids.iter().map(|id| json!({"id": id.to_string()})).collect::<Vec<_>>(),
        })
    })
    .collect();
    json!({"columns": columns, "constraintType": "issueCount"})
}

impl Default for Site {
    fn default() -> Self {
        Site::empty()
    }
}

impl Site {
    /// An empty site, to be filled with the builder methods.
    pub fn empty() -> Site {
        Site {
            site_url: "https://sim-site.atlassian.net".into(),
            quirks: Quirks::default(),
            projects: BTreeMap::new(),
            boards: BTreeMap::new(),
            sprints: BTreeMap::new(),
            issues: BTreeMap::new(),
            issue_counters: HashMap::new(),
            next_board: 1,
            next_sprint: 1,
            next_issue: 10000,
            next_project: 10000,
        }
    }

    // ----- read access -----

    /// A board by id.
    pub fn board(&self, id: i64) -> Option<&Board> {
        self.boards.get(&id)
    }

    /// A board by id, for arbitrary edits.
    pub fn board_mut(&mut self, id: i64) -> Option<&mut Board> {
        self.boards.get_mut(&id)
    }

    /// All boards in id order (hidden ones included).
    pub fn boards(&self) -> impl Iterator<Item = &Board> {
        self.boards.values()
    }

    /// A sprint by id.
    pub fn sprint(&self, id: i64) -> Option<&Sprint> {
        self.sprints.get(&id)
    }

    /// A sprint by id, for arbitrary edits.
    pub fn sprint_mut(&mut self, id: i64) -> Option<&mut Sprint> {
        self.sprints.get_mut(&id)
    }

    /// An issue by id.
    pub fn issue(&self, id: i64) -> Option<&Issue> {
        self.issues.get(&id)
    }

    /// A project by id.
    pub fn project(&self, id: i64) -> Option<&Project> {
        self.projects.get(&id)
    }

    /// A project by id, for arbitrary edits.
    pub fn project_mut(&mut self, id: i64) -> Option<&mut Project> {
        self.projects.get_mut(&id)
    }

    /// Number of issues in the model (hidden ones included).
    pub fn issue_count(&self) -> usize {
        self.issues.len()
    }

    // ----- builders -----

    /// Add a classic software project; returns its id.
    pub fn add_project(&mut self, key: &str, name: &str) -> i64 {
        let id = self.next_project;
        self.next_project += 1;
        self.projects.insert(
            id,
            Project {
                id,
                key: key.into(),
                name: name.into(),
                type_key: "software".into(),
                style: "classic".into(),
                simplified: false,
            },
        );
        id
    }

    /// Add a board with the default configuration of its kind; returns its id. A project
    /// location also puts that project on the board's project list.
    pub fn add_board(
        &mut self,
        kind: BoardKind,
        name: &str,
        location: Option<BoardLocation>,
    ) -> i64 {
        let id = self.next_board;
        self.next_board += 1;
        let estimation = match kind {
            BoardKind::Kanban => None,
            BoardKind::Scrum | BoardKind::Simple => Some(Estimation {
                estimation_type: "field".into(),
                field_id: Some("customfield_10016".into()),
                field_name: Some("Story point estimate".into()),
            }),
        };
        let projects = location
            .as_ref()
            .and_then(|l| l.project_id)
            .into_iter()
            .collect();
        self.boards.insert(
            id,
            Board {
                id,
                name: name.into(),
                kind,
                location,
                is_private: Some(false),
                hidden: false,
                supports_sprints: kind != BoardKind::Kanban,
                projects,
                sprints: Vec::new(),
                issues: Vec::new(),
                config: BoardConfig {
                    filter_id: 10000 + id,
                    sub_query: (kind == BoardKind::Kanban).then(|| {
                        "fixVersion in unreleasedVersions() OR fixVersion is EMPTY".into()
                    }),
                    column_config: default_column_config(),
                    estimation,
                    rank_custom_field_id: Some(DEFAULT_RANK_FIELD),
                },
                config_status: None,
            },
        );
        id
    }

    /// Put a project on a board's project list (no effect if already there).
    pub fn add_board_project(&mut self, board_id: i64, project_id: i64) {
        if let Some(b) = self.boards.get_mut(&board_id) {
            if !b.projects.contains(&project_id) {
                b.projects.push(project_id);
            }
        }
    }

    /// Add a sprint created on `board_id` (its origin board) and link it there; returns its id.
    /// Dates follow the state: closed sprints have all, active no `completeDate`, future none.
    /// Dates are in `Z` style; set them on [`Site::sprint_mut`] for other styles.
    pub fn add_sprint(&mut self, board_id: i64, state: SprintState, name: &str) -> i64 {
        let id = self.next_sprint;
        self.next_sprint += 1;
        let start = 1_704_067_200 + id * 14 * 86_400;
        self.sprints
            .insert(id, make_sprint(id, board_id, state, name, start, 0, None));
        self.link_sprint(board_id, id);
        id
    }

    /// List an existing sprint on another board too (no effect if already linked).
    pub fn link_sprint(&mut self, board_id: i64, sprint_id: i64) {
        if let Some(b) = self.boards.get_mut(&board_id) {
            if !b.sprints.contains(&sprint_id) {
                b.sprints.push(sprint_id);
            }
        }
    }

    /// Add an issue of `project_id` on `board_id`; returns its id. It starts with status 10000,
    /// no sprint, a rank in `customfield_10019` and an `updated` in `+0100` style.
    pub fn add_issue(&mut self, board_id: i64, project_id: i64) -> i64 {
        let id = self.next_issue;
        self.next_issue += 1;
        let key_prefix = self
            .projects
            .get(&project_id)
            .map_or_else(|| "SIM".to_string(), |p| p.key.clone());
        let counter = self.issue_counters.entry(project_id).or_insert(0);
        *counter += 1;
        let at = 1_711_843_200 + id * 60;
        let mut custom_fields = BTreeMap::new();
        custom_fields.insert(
            format!("customfield_{DEFAULT_RANK_FIELD}"),
            Value::from(format!("0|i{:06x}:", id)),
        );
        self.issues.insert(
            id,
            Issue {
                id,
                key: format!("{key_prefix}-{counter}"),
                project_id,
                status_id: 10000,
                summary: format!("Issue {id}"),
                sprint_id: None,
                closed_sprint_ids: Vec::new(),
                flagged: false,
                parent_id: None,
                custom_fields,
                updated: issue_date(at, 3600),
                created: issue_date(at - 86_400, 3600),
                hidden: false,
            },
        );
        self.add_issue_to_board(board_id, id);
        id
    }

    /// Show an existing issue on another board too (boards whose filters overlap).
    pub fn add_issue_to_board(&mut self, board_id: i64, issue_id: i64) {
        if let Some(b) = self.boards.get_mut(&board_id) {
            if let Err(pos) = b.issues.binary_search(&issue_id) {
                b.issues.insert(pos, issue_id);
            }
        }
    }

    /// Hide an issue from the token (or show it again).
    pub fn set_issue_hidden(&mut self, issue_id: i64, hidden: bool) {
        if let Some(i) = self.issues.get_mut(&issue_id) {
            i.hidden = hidden;
        }
    }

    /// Hide a board from the token (or show it again).
    pub fn set_board_hidden(&mut self, board_id: i64, hidden: bool) {
        if let Some(b) = self.boards.get_mut(&board_id) {
            b.hidden = hidden;
        }
    }

    // ----- edits between runs -----

    /// Rename a board.
    pub fn rename_board(&mut self, board_id: i64, name: &str) {
        if let Some(b) = self.boards.get_mut(&board_id) {
            b.name = name.into();
        }
    }

    /// Delete a board (its sprints and issues stay on the site).
    pub fn delete_board(&mut self, board_id: i64) {
        self.boards.remove(&board_id);
    }

    /// Move an issue from one board to another.
    pub fn move_issue(&mut self, issue_id: i64, from_board: i64, to_board: i64) {
        if let Some(b) = self.boards.get_mut(&from_board) {
            if let Ok(pos) = b.issues.binary_search(&issue_id) {
                b.issues.remove(pos);
            }
        }
        self.add_issue_to_board(to_board, issue_id);
    }

    /// Delete an issue from the site and every board.
    pub fn delete_issue(&mut self, issue_id: i64) {
        self.issues.remove(&issue_id);
        for b in self.boards.values_mut() {
            if let Ok(pos) = b.issues.binary_search(&issue_id) {
                b.issues.remove(pos);
            }
        }
    }

    /// Apply any change to an issue (status, sprint, estimate, `updated`, ...).
    pub fn update_issue(&mut self, issue_id: i64, f: impl FnOnce(&mut Issue)) {
        if let Some(i) = self.issues.get_mut(&issue_id) {
            f(i);
        }
    }

    /// Close a sprint: state `closed`, `completeDate` set (and start/end/activated dates when it
    /// never had them). Issues whose current sprint it was get it in `closedSprints`.
    pub fn close_sprint(&mut self, sprint_id: i64) {
        let Some(s) = self.sprints.get_mut(&sprint_id) else {
            return;
        };
        let base = 1_704_067_200 + sprint_id * 14 * 86_400;
        s.state = SprintState::Closed;
        s.start_date.get_or_insert_with(|| sprint_date(base, 0));
        s.activated_date.get_or_insert_with(|| sprint_date(base, 0));
        s.end_date
            .get_or_insert_with(|| sprint_date(base + 14 * 86_400, 0));
        s.complete_date = Some(sprint_date(base + 14 * 86_400 + 3600, 0));
        for issue in self.issues.values_mut() {
            if issue.sprint_id == Some(sprint_id) {
                issue.sprint_id = None;
                issue.closed_sprint_ids.push(sprint_id);
            }
        }
    }

    /// Rename a sprint.
    pub fn rename_sprint(&mut self, sprint_id: i64, name: &str) {
        if let Some(s) = self.sprints.get_mut(&sprint_id) {
            s.name = name.into();
        }
    }

    /// Stop listing a sprint on a board.
    pub fn unlink_sprint(&mut self, board_id: i64, sprint_id: i64) {
        if let Some(b) = self.boards.get_mut(&board_id) {
            b.sprints.retain(|s| *s != sprint_id);
        }
    }

    /// Make `/board/{id}/configuration` answer `status` (401, 403, 404), or readable again.
    pub fn set_config_status(&mut self, board_id: i64, status: Option<u16>) {
        if let Some(b) = self.boards.get_mut(&board_id) {
            b.config_status = status;
        }
    }

    // ----- generation -----

    /// Generate a site from a spec; the same spec always yields the same site.
    pub fn generate(spec: &SiteSpec) -> Site {
        let mut rng = StdRng::seed_from_u64(spec.seed);
        let mut site = Site::empty();

        let project_ids: Vec<i64> = (0..spec.projects.max(1))
            .map(|i| {
                let key = project_key(i);
                let id = site.add_project(&key, &format!("Project {key}"));
                let p = site.projects.get_mut(&id).expect("just inserted");
                if i % 4 == 3 {
                    p.style = "next-gen".into();
                    p.simplified = true;
                }
                if i % 7 == 6 {
                    p.type_key = "business".into();
                }
                id
            })
            .collect();

        let mut prev_sprint_board: Option<i64> = None;
        let mut prev_board: Option<i64> = None;
        for b in 0..spec.boards {
            let board_id = site.generate_board(spec, &mut rng, b, &project_ids);
            let has_sprints = site.boards[&board_id].supports_sprints;
            if has_sprints && rng.random_range(0..100) < spec.shared_sprint_percent {
                if let Some(other) = prev_sprint_board {
                    if let Some(&s) = site.boards[&other].sprints.last() {
                        site.link_sprint(board_id, s);
                    }
                }
            }
            site.generate_issues(spec, &mut rng, board_id);
            if let Some(other) = prev_board {
                if rng.random_range(0..100) < 10 {
                    let theirs: Vec<i64> = site.boards[&other]
                        .issues
                        .iter()
                        .take(10)
                        .copied()
                        .collect();
                    for i in theirs {
                        site.add_issue_to_board(board_id, i);
                    }
                }
            }
            if has_sprints {
                prev_sprint_board = Some(board_id);
            }
            prev_board = Some(board_id);
        }
        site
    }

    fn generate_board(
        &mut self,
        spec: &SiteSpec,
        rng: &mut StdRng,
        b: usize,
        projects: &[i64],
    ) -> i64 {
        let main = projects[rng.random_range(0..projects.len())];
        let kind = match rng.random_range(0..100) {
            0..60 => BoardKind::Scrum,
            60..85 => BoardKind::Kanban,
            _ => BoardKind::Simple,
        };
        let main_project = self.projects[&main].clone();
        let location = match rng.random_range(0..100) {
            // Some project locations come without `type`.
            0..15 => Some(BoardLocation {
                location_type: None,
                ..BoardLocation::project(&main_project)
            }),
            15..80 => Some(BoardLocation::project(&main_project)),
            80..90 => Some(BoardLocation::user(
                &format!("712020:{:08x}-0000-4000-8000-{:012x}", spec.seed as u32, b),
                &format!("User {b}"),
            )),
            _ => None,
        };
        let name = match b % 50 {
            7 => format!("x'); DROP TABLE \"BOARD\"; -- {b}"),
            13 => format!("Équipe « {} » board {b}", main_project.key),
            _ => format!("{} board {}", main_project.key, b + 1),
        };
        let id = self.add_board(kind, &name, location);
        self.add_board_project(id, main);
        if rng.random_range(0..100) < 15 {
            for _ in 0..rng.random_range(1..=2) {
                let extra = projects[rng.random_range(0..projects.len())];
                self.add_board_project(id, extra);
            }
        }

        let hidden = rng.random_range(0..100) < spec.hidden_board_percent;
        let private_roll = rng.random_range(0..100);
        let config_roll = rng.random_range(0..100);
        let config_status = [401u16, 403, 404][rng.random_range(0..3)];
        let simple_sprints = rng.random_bool(0.5);
        let estimation_roll = rng.random_range(0..100);
        let board = self.boards.get_mut(&id).expect("just inserted");
        board.hidden = hidden;
        board.is_private = match private_roll {
            0..5 => Some(true),
            5..90 => Some(false),
            _ => None,
        };
        if config_roll < spec.config_error_percent {
            board.config_status = Some(config_status);
        }
        if kind == BoardKind::Simple {
            board.supports_sprints = simple_sprints;
        }
        if kind == BoardKind::Scrum {
            board.config.estimation = match estimation_roll {
                0..65 => board.config.estimation.take(),
                65..95 => Some(Estimation {
                    estimation_type: "field".into(),
                    field_id: Some("customfield_10002".into()),
                    field_name: Some("Story Points".into()),
                }),
                _ => Some(Estimation {
                    estimation_type: "issueCount".into(),
                    field_id: None,
                    field_name: None,
                }),
            };
        }

        if self.boards[&id].supports_sprints {
            self.generate_sprints(spec, rng, id);
        }
        id
    }

    fn generate_sprints(&mut self, spec: &SiteSpec, rng: &mut StdRng, board_id: i64) {
        let n = rng.random_range(1..=spec.sprints_per_board.max(1) * 2);
        let offset = [0, 36_000, -25_200][rng.random_range(0..3)];
        let mut start = 1_672_531_200 + rng.random_range(0..86_400 * 365);
        for k in 0..n {
            let state = if k + 2 < n {
                SprintState::Closed
            } else if k + 2 == n {
                SprintState::Active
            } else {
                SprintState::Future
            };
            let goal = match rng.random_range(0..10) {
                0..3 => None,
                3..5 => Some(String::new()),
                _ => Some(format!("Goal {}", k + 1)),
            };
            let id = self.next_sprint;
            self.next_sprint += 1;
            let mut sprint = make_sprint(
                id,
                board_id,
                state,
                &format!("Sprint {}", k + 1),
                start,
                offset,
                goal,
            );
            if rng.random_range(0..10) == 0 {
                sprint.origin_board_id = None;
            }
            // Jira's own example serves a sprint whose `self` names another id.
            if rng.random_range(0..40) == 0 {
                sprint.self_id = id + 100_000;
            }
            self.sprints.insert(id, sprint);
            self.link_sprint(board_id, id);
            start += 14 * 86_400;
        }
    }

    fn generate_issues(&mut self, spec: &SiteSpec, rng: &mut StdRng, board_id: i64) {
        let avg = spec.issues_per_board;
        let count = if avg == 0 {
            0
        } else {
            rng.random_range(avg / 2..=avg + avg / 2)
        };
        let board = &self.boards[&board_id];
        let projects = board.projects.clone();
        let estimate_field = board
            .config
            .estimation
            .as_ref()
            .and_then(|e| e.field_id.clone());
        let mut closed = Vec::new();
        let mut current = Vec::new();
        for s in &board.sprints {
            match self.sprints.get(s).map(|s| s.state) {
                Some(SprintState::Closed) => closed.push(*s),
                Some(_) => current.push(*s),
                None => {}
            }
        }
        let offsets = [3600, 0, -28_800, 19_800];
        let mut created = Vec::with_capacity(count);
        for _ in 0..count {
            let project = projects[rng.random_range(0..projects.len())];
            let id = self.add_issue(board_id, project);
            let status_id = STATUSES[rng.random_range(0..STATUSES.len())].0;
            let sprint_id = (!current.is_empty() && rng.random_bool(0.5))
                .then(|| current[rng.random_range(0..current.len())]);
            let closed_ids: Vec<i64> = closed
                .iter()
                .filter(|_| rng.random_range(0..4) == 0)
                .take(3)
                .copied()
                .collect();
            let flagged = rng.random_range(0..100) < 4;
            let parent_id = (!created.is_empty() && rng.random_range(0..5) == 0)
                .then(|| created[rng.random_range(0..created.len())]);
            let estimate = estimate_field
                .as_ref()
                .filter(|_| rng.random_range(0..10) < 7)
                .map(|f| {
                    (
                        f.clone(),
                        [0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 13.0][rng.random_range(0..7)],
                    )
                });
            let at = 1_700_000_000 + rng.random_range(0..86_400 * 400);
            let offset = offsets[rng.random_range(0..offsets.len())];
            let hidden = rng.random_range(0..100) < spec.hidden_issue_percent;
            let issue = self.issues.get_mut(&id).expect("just inserted");
            issue.status_id = status_id;
            issue.sprint_id = sprint_id;
            issue.closed_sprint_ids = closed_ids;
            issue.flagged = flagged;
            issue.parent_id = parent_id;
            if let Some((field, value)) = estimate {
                issue.custom_fields.insert(field, Value::from(value));
            }
            issue.updated = issue_date(at, offset);
            issue.created = issue_date(at - 3 * 86_400, offset);
            issue.hidden = hidden;
            created.push(id);
        }
    }

    // ----- JSON as served -----

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.site_url, path)
    }

    /// The board object as the listing and `/board/{id}` serve it.
    pub fn board_json(&self, board: &Board) -> Value {
        let mut m = Map::new();
        m.insert("id".into(), board.id.into());
        m.insert(
            "self".into(),
            self.url(&format!("/rest/agile/1.0/board/{}", board.id))
                .into(),
        );
        m.insert("name".into(), board.name.clone().into());
        m.insert("type".into(), board.kind.as_str().into());
        if let Some(l) = &board.location {
            m.insert("location".into(), l.to_json());
        }
        if let Some(p) = board.is_private {
            m.insert("isPrivate".into(), p.into());
        }
        Value::Object(m)
    }

    /// The sprint object as `/board/{id}/sprint` serves it.
    pub fn sprint_json(&self, s: &Sprint) -> Value {
        let mut m = Map::new();
        m.insert("id".into(), s.id.into());
        m.insert(
            "self".into(),
            self.url(&format!("/rest/agile/1.0/sprint/{}", s.self_id))
                .into(),
        );
        m.insert("state".into(), s.state.as_str().into());
        m.insert("name".into(), s.name.clone().into());
        let dates = [
            ("startDate", &s.start_date),
            ("endDate", &s.end_date),
            ("completeDate", &s.complete_date),
            ("createdDate", &s.created_date),
            ("activatedDate", &s.activated_date),
        ];
        for (k, v) in dates {
            if let Some(v) = v {
                m.insert(k.into(), v.clone().into());
            }
        }
        if let Some(o) = s.origin_board_id {
            m.insert("originBoardId".into(), o.into());
        }
        if let Some(g) = &s.goal {
            m.insert("goal".into(), g.clone().into());
        }
        Value::Object(m)
    }

    /// The project object as `/board/{id}/project` serves it.
    pub fn project_json(&self, p: &Project) -> Value {
        json!({
            "self": self.url(&format!("/rest/api/3/project/{}", p.id)),
            "id": p.id.to_string(),
            "key": p.key,
            "name": p.name,
            "avatarUrls": {
                "48x48": self.url(&format!("/rest/api/3/universal_avatar/view/type/project/avatar/{}", p.id)),
            },
            "projectTypeKey": p.type_key,
            "simplified": p.simplified,
            "style": p.style,
            "isPrivate": false,
        })
    }

    /// The object `/board/{id}/configuration` serves.
    pub fn config_json(&self, board: &Board) -> Value {
        let c = &board.config;
        let mut m = Map::new();
        m.insert("id".into(), board.id.into());
        m.insert("name".into(), board.name.clone().into());
        m.insert("type".into(), board.kind.as_str().into());
        m.insert(
            "self".into(),
            self.url(&format!("/rest/agile/1.0/board/{}/configuration", board.id))
                .into(),
        );
        if let Some(pid) = board.location.as_ref().and_then(|l| l.project_id) {
            let key = board.location.as_ref().and_then(|l| l.project_key.clone());
            m.insert(
                "location".into(),
                json!({
                    "type": "project",
                    "key": key,
                    "id": pid.to_string(),
                    "self": self.url(&format!("/rest/api/3/project/{pid}")),
                    "name": board.location.as_ref().and_then(|l| l.project_name.clone()),
                }),
            );
        }
        m.insert(
            "filter".into(),
            json!({"id": c.filter_id.to_string(), "self": self.url(&format!("/rest/api/3/filter/{}", c.filter_id))}),
        );
        if let Some(q) = &c.sub_query {
            m.insert("subQuery".into(), json!({ "query": q }));
        }
        m.insert("columnConfig".into(), c.column_config.clone());
        if let Some(e) = &c.estimation {
            let mut em = Map::new();
            em.insert("type".into(), e.estimation_type.clone().into());
            if e.field_id.is_some() || e.field_name.is_some() {
                em.insert(
                    "field".into(),
                    json!({"fieldId": e.field_id, "displayName": e.field_name}),
                );
            }
            m.insert("estimation".into(), Value::Object(em));
        }
        if let Some(r) = c.rank_custom_field_id {
            m.insert("ranking".into(), json!({ "rankCustomFieldId": r }));
        }
        Value::Object(m)
    }

    /// The issue object as `/board/{id}/issue` serves it; `fields` = `None` means every field.
    pub fn issue_json(&self, issue: &Issue, fields: Option<&[String]>) -> Value {
        let wanted = |name: &str| fields.is_none_or(|f| f.iter().any(|x| x == name));
        let mut f = Map::new();
        if wanted("summary") {
            f.insert("summary".into(), issue.summary.clone().into());
        }
        if wanted("status") {
            let (name, cat) = STATUSES
                .iter()
                .find(|s| s.0 == issue.status_id)
                .map_or(("Unknown", "undefined"), |s| (s.1, s.2));
            f.insert(
                "status".into(),
                json!({
                    "self": self.url(&format!("/rest/api/3/status/{}", issue.status_id)),
                    "description": "",
                    "name": name,
                    "id": issue.status_id.to_string(),
                    "statusCategory": {"key": cat},
                }),
            );
        }
        if wanted("project") {
            let p = self.projects.get(&issue.project_id);
            f.insert(
                "project".into(),
                json!({
                    "self": self.url(&format!("/rest/api/3/project/{}", issue.project_id)),
                    "id": issue.project_id.to_string(),
                    "key": p.map(|p| p.key.clone()),
                    "name": p.map(|p| p.name.clone()),
                    "projectTypeKey": p.map(|p| p.type_key.clone()),
                    "simplified": p.map(|p| p.simplified),
                }),
            );
        }
        if wanted("sprint") {
            let v = issue
                .sprint_id
                .and_then(|id| self.sprints.get(&id))
                .map_or(Value::Null, |s| self.sprint_json(s));
            f.insert("sprint".into(), v);
        }
        if wanted("closedSprints") && !issue.closed_sprint_ids.is_empty() {
            let list: Vec<Value> = issue
                .closed_sprint_ids
                .iter()
                .filter_map(|id| self.sprints.get(id))
                .map(|s| self.sprint_json(s))
                .collect();
            f.insert("closedSprints".into(), Value::Array(list));
        }
        if wanted("flagged") {
            f.insert("flagged".into(), issue.flagged.into());
        }
        if wanted("parent") {
            if let Some(pid) = issue.parent_id {
                let key = self.issues.get(&pid).map(|p| p.key.clone());
                f.insert(
                    "parent".into(),
                    json!({"id": pid.to_string(), "key": key, "self": self.url(&format!("/rest/api/3/issue/{pid}"))}),
                );
            }
        }
        match fields {
            None => {
                for (k, v) in &issue.custom_fields {
                    f.insert(k.clone(), v.clone());
                }
            }
            Some(list) => {
                for k in list.iter().filter(|k| k.starts_with("customfield_")) {
                    let v = issue.custom_fields.get(k).cloned().unwrap_or(Value::Null);
                    f.insert(k.clone(), v);
                }
            }
        }
        if wanted("updated") {
            f.insert("updated".into(), issue.updated.clone().into());
        }
        if wanted("created") {
            f.insert("created".into(), issue.created.clone().into());
        }
        json!({
            "expand": "operations,versionedRepresentations,editmeta,changelog,renderedFields",
            "id": issue.id.to_string(),
            "self": self.url(&format!("/rest/agile/1.0/issue/{}", issue.id)),
            "key": issue.key,
            "fields": f,
        })
    }

    // ----- expected rows -----

    /// The rows the five tables must hold after a complete sync, computed from the model alone.
    /// Board configuration that is not readable counts as never read (all its columns null).
    pub fn expected_rows(&self) -> ExpectedTables {
        self.expected_rows_with(&HashMap::new())
    }

    /// Like [`Site::expected_rows`], but a board whose configuration is unreadable now uses
    /// `last_served[board_id]` (the configuration a client last read) when present.
    pub fn expected_rows_with(&self, last_served: &HashMap<i64, BoardConfig>) -> ExpectedTables {
        let mut boards = Vec::new();
        let mut sprints: BTreeMap<i64, ExpectedRow> = BTreeMap::new();
        let mut board_sprints = Vec::new();
        let mut board_projects = Vec::new();
        let mut board_issues = Vec::new();

        for b in self.boards.values().filter(|b| !b.hidden) {
            let config = match b.config_status {
                None => Some(&b.config),
                Some(_) => last_served.get(&b.id),
            };
            boards.push(self.expected_board(b, config));

            if b.supports_sprints {
                let mut linked: Vec<i64> = b
                    .sprints
                    .iter()
                    .copied()
                    .filter(|s| self.sprints.contains_key(s))
                    .collect();
                linked.sort_unstable();
                linked.dedup();
                for s in linked {
                    board_sprints.push(row(vec![
                        ("BOARD_ID", b.id.into()),
                        ("SPRINT_ID", s.into()),
                    ]));
                    sprints
                        .entry(s)
                        .or_insert_with(|| self.expected_sprint(&self.sprints[&s]));
                }
            }

            let mut projects: Vec<&Project> = b
                .projects
                .iter()
                .filter_map(|p| self.projects.get(p))
                .collect();
            projects.sort_by_key(|p| p.id);
            projects.dedup_by_key(|p| p.id);
            for p in projects {
                board_projects.push(row(vec![
                    ("BOARD_ID", b.id.into()),
                    ("PROJECT_ID", p.id.into()),
                    ("PROJECT_KEY", p.key.clone().into()),
                    ("PROJECT_NAME", p.name.clone().into()),
                    ("PROJECT_TYPE_KEY", p.type_key.clone().into()),
                    ("PROJECT_STYLE", p.style.clone().into()),
                    ("PROJECT_SIMPLIFIED", p.simplified.into()),
                ]));
            }

            let estimate_field = config
                .and_then(|c| c.estimation.as_ref())
                .and_then(|e| e.field_id.clone());
            let rank_field = config
                .and_then(|c| c.rank_custom_field_id)
                .map(|r| format!("customfield_{r}"));
            for i in b
                .issues
                .iter()
                .filter_map(|i| self.issues.get(i))
                .filter(|i| !i.hidden)
            {
                board_issues.push(self.expected_issue(
                    b.id,
                    i,
                    estimate_field.as_deref(),
                    rank_field.as_deref(),
                ));
            }
        }

        let mut out = ExpectedTables::new();
        out.insert(Table::Board.name().into(), boards);
        out.insert(Table::Sprint.name().into(), sprints.into_values().collect());
        out.insert(Table::BoardSprint.name().into(), board_sprints);
        out.insert(Table::BoardProject.name().into(), board_projects);
        out.insert(Table::BoardIssue.name().into(), board_issues);
        out
    }

    fn expected_board(&self, b: &Board, config: Option<&BoardConfig>) -> ExpectedRow {
        let l = b.location.clone().unwrap_or_default();
        let est = config.and_then(|c| c.estimation.as_ref());
        row(vec![
            ("ID", b.id.into()),
            ("NAME", b.name.clone().into()),
            ("TYPE", b.kind.as_str().into()),
            (
                "SELF",
                self.url(&format!("/rest/agile/1.0/board/{}", b.id)).into(),
            ),
            ("IS_PRIVATE", opt(b.is_private)),
            ("LOCATION_TYPE", opt(l.location_type)),
            ("LOCATION_PROJECT_ID", opt(l.project_id)),
            ("LOCATION_PROJECT_KEY", opt(l.project_key)),
            ("LOCATION_PROJECT_NAME", opt(l.project_name)),
            ("LOCATION_PROJECT_TYPE_KEY", opt(l.project_type_key)),
            ("LOCATION_DISPLAY_NAME", opt(l.display_name)),
            ("LOCATION_NAME", opt(l.name)),
            ("LOCATION_USER_ACCOUNT_ID", opt(l.user_account_id)),
            ("FILTER_ID", opt(config.map(|c| c.filter_id))),
            ("SUB_QUERY", opt(config.and_then(|c| c.sub_query.clone()))),
            (
                "COLUMN_CONFIG",
                config.map_or(Value::Null, |c| c.column_config.clone()),
            ),
            (
                "ESTIMATION_TYPE",
                opt(est.map(|e| e.estimation_type.clone())),
            ),
            (
                "ESTIMATION_FIELD_ID",
                opt(est.and_then(|e| e.field_id.clone())),
            ),
            (
                "ESTIMATION_FIELD_NAME",
                opt(est.and_then(|e| e.field_name.clone())),
            ),
            (
                "RANK_CUSTOM_FIELD_ID",
                opt(config.and_then(|c| c.rank_custom_field_id)),
            ),
            ("RAW", self.board_json(b)),
        ])
    }

    fn expected_sprint(&self, s: &Sprint) -> ExpectedRow {
        row(vec![
            ("ID", s.id.into()),
            (
                "SELF",
                self.url(&format!("/rest/agile/1.0/sprint/{}", s.self_id))
                    .into(),
            ),
            ("STATE", s.state.as_str().into()),
            ("NAME", s.name.clone().into()),
            ("START_DATE", micros(s.start_date.as_deref())),
            ("END_DATE", micros(s.end_date.as_deref())),
            ("COMPLETE_DATE", micros(s.complete_date.as_deref())),
            ("CREATED_DATE", micros(s.created_date.as_deref())),
            ("ACTIVATED_DATE", micros(s.activated_date.as_deref())),
            ("ORIGIN_BOARD_ID", opt(s.origin_board_id)),
            ("GOAL", opt(s.goal.clone())),
            ("RAW", self.sprint_json(s)),
        ])
    }

    fn expected_issue(
        &self,
        board_id: i64,
        i: &Issue,
        estimate: Option<&str>,
        rank: Option<&str>,
    ) -> ExpectedRow {
        let closed: Vec<i64> = i
            .closed_sprint_ids
            .iter()
            .copied()
            .filter(|s| self.sprints.contains_key(s))
            .collect();
        row(vec![
            ("BOARD_ID", board_id.into()),
            ("ISSUE_ID", i.id.into()),
            ("ISSUE_KEY", i.key.clone().into()),
            ("PROJECT_ID", i.project_id.into()),
            ("STATUS_ID", i.status_id.into()),
            (
                "SPRINT_ID",
                opt(i.sprint_id.filter(|s| self.sprints.contains_key(s))),
            ),
            (
                "CLOSED_SPRINT_IDS",
                if closed.is_empty() {
                    Value::Null
                } else {
                    Value::from(closed)
                },
            ),
            ("FLAGGED", i.flagged.into()),
            ("PARENT_ID", opt(i.parent_id)),
            (
                "ESTIMATE",
                opt(estimate
                    .and_then(|f| i.custom_fields.get(f))
                    .and_then(Value::as_f64)),
            ),
            (
                "RANK",
                opt(rank
                    .and_then(|f| i.custom_fields.get(f))
                    .and_then(Value::as_str)
                    .map(str::to_string)),
            ),
            ("ISSUE_UPDATED", micros(Some(&i.updated))),
        ])
    }
}

/// A sprint with the dates its state implies, starting at `start` (epoch seconds).
fn make_sprint(
    id: i64,
    board_id: i64,
    state: SprintState,
    name: &str,
    start: i64,
    offset: i32,
    goal: Option<String>,
) -> Sprint {
    let end = start + 14 * 86_400;
    let started = state != SprintState::Future;
    Sprint {
        id,
        self_id: id,
        state,
        name: name.into(),
        start_date: started.then(|| sprint_date(start, offset)),
        end_date: started.then(|| sprint_date(end, offset)),
        complete_date: (state == SprintState::Closed).then(|| sprint_date(end + 3600, offset)),
        created_date: Some(sprint_date(start - 7 * 86_400, offset)),
        activated_date: started.then(|| sprint_date(start + 60, offset)),
        origin_board_id: Some(board_id),
        goal,
    }
}
