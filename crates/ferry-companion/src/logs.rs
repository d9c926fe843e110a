//! CloudWatch Logs: log groups (with retention), log streams, and their events —
//! PutLogEvents without sequence tokens, GetLogEvents with forward/backward tokens, and
//! FilterLogEvents across streams with filter patterns (what `aws logs tail` and
//! `filter-log-events` read). Events older than a group's retention are neither accepted nor
//! returned, and are pruned on writes.

use ferry_model::logs::*;
use ferry_store::StoreError;
use ferry_store::logs::{EventQuery, LogEventRow, LogGroupRow, NewLogEvent, StreamSelector};
use ferry_wire::{AwsError, RequestContext};

use crate::logs_pattern::{FilterPattern, PatternError};
use crate::logs_tokens::{Position, StreamToken, event_id, filter_token, parse_filter_token};
use crate::paging;
use crate::{CompanionService, now_ms, store_err};

type R<T> = Result<T, AwsError>;

const DAY_MS: i64 = 86_400_000;
/// Events further in the future than this are rejected as too new.
const TOO_NEW_MS: i64 = 2 * 3_600_000;
/// Events older than this are rejected as too old.
const TOO_OLD_MS: i64 = 14 * DAY_MS;
/// The most bytes one PutLogEvents batch may carry (messages plus 26 bytes per event).
const MAX_BATCH_BYTES: usize = 1_048_576;
/// The most events FilterLogEvents examines per call before answering a continuation token.
const SCAN_LIMIT: usize = 10_000;
/// The retention periods AWS accepts, in days.
const RETENTION_DAYS: [i32; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

fn invalid(msg: impl Into<String>) -> AwsError {
    AwsError::new("InvalidParameterException", msg)
}

fn group_not_found() -> AwsError {
    AwsError::new(
        "ResourceNotFoundException",
        "The specified log group does not exist.",
    )
}

fn stream_not_found() -> AwsError {
    AwsError::new(
        "ResourceNotFoundException",
        "The specified log stream does not exist.",
    )
}

fn invalid_token() -> AwsError {
    invalid("The specified nextToken is invalid.")
}

fn group_arn(ctx: &RequestContext, name: &str) -> String {
    ferry_types::arn::build(
        "logs",
        &ctx.region,
        &ctx.account_id,
        &format!("log-group:{name}"),
    )
}

/// The group a name or an identifier (name or ARN) designates; exactly one must be given.
fn group_name(name: Option<String>, identifier: Option<String>) -> R<String> {
    match (name, identifier) {
        (Some(_), Some(_)) => Err(invalid(
            "LogGroup name and LogGroup ARN are mutually exclusive parameters.",
        )),
        (Some(n), None) => Ok(n),
        (None, Some(id)) => Ok(match id.strip_prefix("arn:") {
            Some(_) => id
                .split_once(":log-group:")
                .map(|(_, rest)| rest.trim_end_matches(":*").to_owned())
                .ok_or_else(|| invalid("The specified log group identifier is not valid."))?,
            None => id,
        }),
        (None, None) => Err(invalid(
            "Either logGroupName or logGroupIdentifier must be specified.",
        )),
    }
}

/// The oldest timestamp a group still keeps.
fn retention_cutoff(group: &LogGroupRow, now: i64) -> Option<i64> {
    group.retention_days.map(|d| now - d * DAY_MS)
}

fn max_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

impl CompanionService {
    async fn existing_group(&self, name: &str) -> R<LogGroupRow> {
        self.store
            .log_group(name)
            .await
            .map_err(store_err)?
            .ok_or_else(group_not_found)
    }

    fn describe_group(ctx: &RequestContext, g: LogGroupRow) -> LogGroup {
        let arn = group_arn(ctx, &g.name);
        LogGroup {
            arn: Some(format!("{arn}:*")),
            log_group_arn: Some(arn),
            creation_time: Some(g.created_ms),
            retention_in_days: g.retention_days.and_then(|d| i32::try_from(d).ok()),
            metric_filter_count: Some(0),
            stored_bytes: Some(g.stored_bytes),
            kms_key_id: g.kms_key_id,
            log_group_class: LogGroupClass::parse(&g.class),
            log_group_name: Some(g.name),
            deletion_protection_enabled: Some(false),
            ..LogGroup::default()
        }
    }
}

impl Logs for CompanionService {
    async fn create_log_group(&self, _: &RequestContext, i: CreateLogGroupRequest) -> R<()> {
        if i.deletion_protection_enabled == Some(true) {
            return Err(AwsError::not_implemented(
                "logs",
                "CreateLogGroup with deletionProtectionEnabled",
            ));
        }
        let group = LogGroupRow {
            name: i.log_group_name,
            created_ms: now_ms(),
            retention_days: None,
            kms_key_id: i.kms_key_id,
            class: i
                .log_group_class
                .unwrap_or(LogGroupClass::Standard)
                .as_str()
                .to_owned(),
            stored_bytes: 0,
        };
        let tags = i.tags.unwrap_or_default();
        match self.store.create_log_group(&group, &tags).await {
            Ok(()) => Ok(()),
            Err(StoreError::Conflict(_)) => Err(AwsError::new(
                "ResourceAlreadyExistsException",
                "The specified log group already exists",
            )),
            Err(e) => Err(store_err(e)),
        }
    }

    async fn delete_log_group(&self, _: &RequestContext, i: DeleteLogGroupRequest) -> R<()> {
        if self
            .store
            .delete_log_group(&i.log_group_name)
            .await
            .map_err(store_err)?
        {
            Ok(())
        } else {
            Err(group_not_found())
        }
    }

    async fn put_retention_policy(
        &self,
        _: &RequestContext,
        i: PutRetentionPolicyRequest,
    ) -> R<()> {
        if !RETENTION_DAYS.contains(&i.retention_in_days) {
            let set: Vec<String> = RETENTION_DAYS.iter().map(i32::to_string).collect();
            return Err(invalid(format!(
                "1 validation error detected: Value '{}' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
                i.retention_in_days,
                set.join(", ")
            )));
        }
        let days = i64::from(i.retention_in_days);
        if !self
            .store
            .set_log_retention(&i.log_group_name, Some(days))
            .await
            .map_err(store_err)?
        {
            return Err(group_not_found());
        }
        self.store
            .prune_log_events(&i.log_group_name, now_ms() - days * DAY_MS)
            .await
            .map_err(store_err)?;
        Ok(())
    }

    async fn delete_retention_policy(
        &self,
        _: &RequestContext,
        i: DeleteRetentionPolicyRequest,
    ) -> R<()> {
        if self
            .store
            .set_log_retention(&i.log_group_name, None)
            .await
            .map_err(store_err)?
        {
            Ok(())
        } else {
            Err(group_not_found())
        }
    }

    async fn describe_log_groups(
        &self,
        ctx: &RequestContext,
        i: DescribeLogGroupsRequest,
    ) -> R<DescribeLogGroupsResponse> {
        if i.log_group_name_prefix.is_some() && i.log_group_name_pattern.is_some() {
            return Err(invalid(
                "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.",
            ));
        }
        let limit = paging::size(i.limit, 50);
        let after = match i.next_token.as_deref() {
            None => None,
            Some(t) => Some(
                ferry_types::page::decode(t)
                    .and_then(|s| s.strip_prefix("g:").map(str::to_owned))
                    .ok_or_else(invalid_token)?,
            ),
        };
        let prefix = i.log_group_name_prefix.unwrap_or_default();
        let pattern = i.log_group_name_pattern.map(|p| p.to_lowercase());
        let identifiers: Option<Vec<String>> = i
            .log_group_identifiers
            .map(|ids| {
                ids.into_iter()
                    .map(|id| group_name(None, Some(id)))
                    .collect::<R<_>>()
            })
            .transpose()?;
        let keep = |g: &LogGroupRow| {
            pattern
                .as_ref()
                .is_none_or(|p| g.name.to_lowercase().contains(p.as_str()))
                && identifiers.as_ref().is_none_or(|ids| ids.contains(&g.name))
                && i.log_group_class.is_none_or(|c| c.as_str() == g.class)
        };
        // Read in batches until a page is full, so that filters do not shorten pages.
        let mut out: Vec<LogGroupRow> = Vec::new();
        let mut cursor = after;
        let mut more = false;
        loop {
            let batch = self
                .store
                .log_groups(&prefix, cursor.as_deref(), 200)
                .await
                .map_err(store_err)?;
            let exhausted = batch.len() < 200;
            for g in batch {
                cursor = Some(g.name.clone());
                if keep(&g) {
                    if out.len() == limit {
                        more = true;
                        break;
                    }
                    out.push(g);
                }
            }
            if more || exhausted {
                break;
            }
        }
        let next_token = more
            .then(|| {
                out.last()
                    .map(|g| ferry_types::page::encode(&format!("g:{}", g.name)))
            })
            .flatten();
        Ok(DescribeLogGroupsResponse {
            log_groups: Some(
                out.into_iter()
                    .map(|g| Self::describe_group(ctx, g))
                    .collect(),
            ),
            next_token,
        })
    }

    async fn create_log_stream(&self, _: &RequestContext, i: CreateLogStreamRequest) -> R<()> {
        self.existing_group(&i.log_group_name).await?;
        match self
            .store
            .create_log_stream(&i.log_group_name, &i.log_stream_name, now_ms())
            .await
        {
            Ok(()) => Ok(()),
            Err(StoreError::Conflict(_)) => Err(AwsError::new(
                "ResourceAlreadyExistsException",
                "The specified log stream already exists",
            )),
            Err(e) => Err(store_err(e)),
        }
    }

    async fn delete_log_stream(&self, _: &RequestContext, i: DeleteLogStreamRequest) -> R<()> {
        self.existing_group(&i.log_group_name).await?;
        if self
            .store
            .delete_log_stream(&i.log_group_name, &i.log_stream_name)
            .await
            .map_err(store_err)?
        {
            Ok(())
        } else {
            Err(stream_not_found())
        }
    }

    async fn describe_log_streams(
        &self,
        ctx: &RequestContext,
        i: DescribeLogStreamsRequest,
    ) -> R<DescribeLogStreamsResponse> {
        let group = group_name(i.log_group_name, i.log_group_identifier)?;
        let order = i.order_by.unwrap_or(OrderBy::LogStreamName);
        if order == OrderBy::LastEventTime && i.log_stream_name_prefix.is_some() {
            return Err(invalid(
                "Cannot order by LastEventTime with a logStreamNamePrefix.",
            ));
        }
        self.existing_group(&group).await?;
        let mut streams = self
            .store
            .log_streams(&group, i.log_stream_name_prefix.as_deref().unwrap_or(""))
            .await
            .map_err(store_err)?;
        if order == OrderBy::LastEventTime {
            streams.sort_by_key(|s| (s.last_event_ms.unwrap_or(i64::MIN), s.name.clone()));
        }
        if i.descending == Some(true) {
            streams.reverse();
        }
        let start = paging::offset(i.next_token.as_deref(), invalid_token)?;
        let (page, next_token) = paging::slice(streams, start, paging::size(i.limit, 50));
        let arn = group_arn(ctx, &group);
        Ok(DescribeLogStreamsResponse {
            log_streams: Some(
                page.into_iter()
                    .map(|s| LogStream {
                        arn: Some(format!("{arn}:log-stream:{}", s.name)),
                        log_stream_name: Some(s.name),
                        creation_time: Some(s.created_ms),
                        first_event_timestamp: s.first_event_ms,
                        last_event_timestamp: s.last_event_ms,
                        last_ingestion_time: s.last_ingestion_ms,
                        stored_bytes: Some(s.stored_bytes),
                        upload_sequence_token: None,
                    })
                    .collect(),
            ),
            next_token,
        })
    }

    async fn put_log_events(
        &self,
        _: &RequestContext,
        i: PutLogEventsRequest,
    ) -> R<PutLogEventsResponse> {
        let group = self.existing_group(&i.log_group_name).await?;
        if self
            .store
            .log_stream(&i.log_group_name, &i.log_stream_name)
            .await
            .map_err(store_err)?
            .is_none()
        {
            return Err(stream_not_found());
        }
        let events = i.log_events;
        if events.windows(2).any(|w| w[1].timestamp < w[0].timestamp) {
            return Err(invalid(
                "Log events in a single PutLogEvents request must be in chronological order.",
            ));
        }
        if let (Some(first), Some(last)) = (events.first(), events.last())
            && last.timestamp - first.timestamp > DAY_MS
        {
            return Err(invalid(
                "The batch of log events in a single PutLogEvents request cannot span more than 24 hours.",
            ));
        }
        let bytes: usize = events.iter().map(|e| e.message.len() + 26).sum();
        if bytes > MAX_BATCH_BYTES {
            return Err(invalid(format!(
                "Upload too large: {bytes} bytes exceeds limit of {MAX_BATCH_BYTES}"
            )));
        }
        let now = now_ms();
        let expired_before = retention_cutoff(&group, now);
        let mut info = RejectedLogEventsInfo::default();
        let mut accepted = Vec::with_capacity(events.len());
        for (idx, e) in events.into_iter().enumerate() {
            let idx = i32::try_from(idx).unwrap_or(i32::MAX);
            if e.timestamp > now + TOO_NEW_MS {
                info.too_new_log_event_start_index.get_or_insert(idx);
            } else if e.timestamp < now - TOO_OLD_MS {
                info.too_old_log_event_end_index = Some(idx);
            } else if expired_before.is_some_and(|c| e.timestamp < c) {
                info.expired_log_event_end_index = Some(idx);
            } else {
                accepted.push(NewLogEvent {
                    ts_ms: e.timestamp,
                    message: e.message,
                });
            }
        }
        match self
            .store
            .put_log_events(&i.log_group_name, &i.log_stream_name, &accepted, now)
            .await
        {
            Ok(()) => {}
            Err(StoreError::NotFound) => return Err(stream_not_found()),
            Err(e) => return Err(store_err(e)),
        }
        if let Some(cutoff) = expired_before {
            self.store
                .prune_log_events(&i.log_group_name, cutoff)
                .await
                .map_err(store_err)?;
        }
        let rejected = info != RejectedLogEventsInfo::default();
        Ok(PutLogEventsResponse {
            next_sequence_token: None,
            rejected_log_events_info: rejected.then_some(info),
            rejected_entity_info: None,
        })
    }

    async fn get_log_events(
        &self,
        _: &RequestContext,
        i: GetLogEventsRequest,
    ) -> R<GetLogEventsResponse> {
        let name = group_name(i.log_group_name, i.log_group_identifier)?;
        let group = self.existing_group(&name).await?;
        if self
            .store
            .log_stream(&name, &i.log_stream_name)
            .await
            .map_err(store_err)?
            .is_none()
        {
            return Err(stream_not_found());
        }
        let token = match i.next_token.as_deref() {
            None => None,
            Some(t) => Some(StreamToken::parse(t).ok_or_else(invalid_token)?),
        };
        let (forward, cursor) = match token {
            Some(StreamToken::Forward(p)) => (true, Some(p)),
            Some(StreamToken::Backward(p)) => (false, Some(p)),
            None => (i.start_from_head == Some(true), None),
        };
        let mut rows = self
            .store
            .log_events(&EventQuery {
                group: name,
                streams: StreamSelector::Names(vec![i.log_stream_name]),
                start_ms: max_opt(i.start_time, retention_cutoff(&group, now_ms())),
                end_ms: i.end_time,
                cursor,
                descending: !forward,
                limit: paging::size(i.limit, 10_000),
            })
            .await
            .map_err(store_err)?;
        if !forward {
            rows.reverse();
        }
        let (next_forward, next_backward) = match (rows.first(), rows.last()) {
            (Some(first), Some(last)) => (
                StreamToken::Forward((last.ts_ms, last.seq)),
                StreamToken::Backward((first.ts_ms, first.seq)),
            ),
            // Nothing more this way: the same token comes back (how readers know to stop).
            _ => match token {
                Some(StreamToken::Forward(p)) => (
                    StreamToken::Forward(p),
                    StreamToken::Backward((p.0, p.1 + 1)),
                ),
                Some(StreamToken::Backward(p)) => (
                    StreamToken::Forward((p.0, p.1 - 1)),
                    StreamToken::Backward(p),
                ),
                None => (StreamToken::Forward((0, 0)), StreamToken::Backward((0, 0))),
            },
        };
        Ok(GetLogEventsResponse {
            events: Some(
                rows.into_iter()
                    .map(|e| OutputLogEvent {
                        timestamp: Some(e.ts_ms),
                        message: Some(e.message),
                        ingestion_time: Some(e.ingest_ms),
                    })
                    .collect(),
            ),
            next_forward_token: Some(next_forward.render()),
            next_backward_token: Some(next_backward.render()),
        })
    }

    async fn filter_log_events(
        &self,
        _: &RequestContext,
        i: FilterLogEventsRequest,
    ) -> R<FilterLogEventsResponse> {
        let name = group_name(i.log_group_name, i.log_group_identifier)?;
        let streams = match (i.log_stream_names, i.log_stream_name_prefix) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "logStreamNames and logStreamNamePrefix are mutually exclusive parameters.",
                ));
            }
            (Some(names), None) => StreamSelector::Names(names),
            (None, Some(prefix)) => StreamSelector::Prefix(prefix),
            (None, None) => StreamSelector::All,
        };
        if let (Some(s), Some(e)) = (i.start_time, i.end_time)
            && s > e
        {
            return Err(invalid(
                "endTime must be greater than or equal to startTime",
            ));
        }
        let pattern = FilterPattern::parse(i.filter_pattern.as_deref().unwrap_or("")).map_err(
            |e| match e {
                PatternError::Unsupported => AwsError::not_implemented(
                    "logs",
                    "FilterLogEvents with JSON or space-delimited filter patterns",
                ),
                PatternError::Invalid => invalid("Invalid filter pattern"),
            },
        )?;
        let group = self.existing_group(&name).await?;
        if let StreamSelector::Names(names) = &streams {
            for n in names {
                if self
                    .store
                    .log_stream(&name, n)
                    .await
                    .map_err(store_err)?
                    .is_none()
                {
                    return Err(stream_not_found());
                }
            }
        }
        let mut cursor: Option<Position> = match i.next_token.as_deref() {
            None => None,
            Some(t) => Some(parse_filter_token(t).ok_or_else(invalid_token)?),
        };
        let limit = paging::size(i.limit, 10_000);
        let mut out: Vec<LogEventRow> = Vec::new();
        let mut scanned = 0;
        let mut next_token = None;
        loop {
            let batch = self
                .store
                .log_events(&EventQuery {
                    group: name.clone(),
                    streams: streams.clone(),
                    start_ms: max_opt(i.start_time, retention_cutoff(&group, now_ms())),
                    // endTime is inclusive here.
                    end_ms: i.end_time.map(|e| e.saturating_add(1)),
                    cursor,
                    descending: false,
                    limit: 1000,
                })
                .await
                .map_err(store_err)?;
            let exhausted = batch.len() < 1000;
            for e in batch {
                cursor = Some((e.ts_ms, e.seq));
                scanned += 1;
                if pattern.matches(&e.message) {
                    out.push(e);
                }
                if out.len() == limit || scanned == SCAN_LIMIT {
                    break;
                }
            }
            if out.len() == limit || scanned == SCAN_LIMIT {
                next_token = cursor.map(filter_token);
                break;
            }
            if exhausted {
                break;
            }
        }
        Ok(FilterLogEventsResponse {
            events: Some(
                out.into_iter()
                    .map(|e| FilteredLogEvent {
                        event_id: Some(event_id((e.ts_ms, e.seq))),
                        log_stream_name: Some(e.stream_name),
                        timestamp: Some(e.ts_ms),
                        message: Some(e.message),
                        ingestion_time: Some(e.ingest_ms),
                    })
                    .collect(),
            ),
            searched_log_streams: None,
            next_token,
        })
    }
}
