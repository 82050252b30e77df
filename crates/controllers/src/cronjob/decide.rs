//! [`plan()`]: one sync of the CronJob controller, as data.

use k8s_openapi::api::batch::v1::CronJobStatus;
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::{SignedDuration, Timestamp};

use super::jobs::{finished, history_to_delete, job_name, new_job, reference};
use super::schedule::{MAX_MISSED, ScheduleError, most_recent, schedule_of, until_next};
use super::{CronEvent, CronPlan, CronSnapshot, JobRef};

fn event(warning: bool, reason: &'static str, message: String) -> CronEvent {
    CronEvent {
        warning,
        reason,
        message,
    }
}

/// Decides one sync of the CronJob: see the [module docs](super).
pub fn plan(snapshot: &CronSnapshot) -> CronPlan {
    let cj = snapshot.cron_job;
    let mut out = CronPlan::default();
    let old = cj.status.clone().unwrap_or_default();
    let mut st = old.clone();
    let mut active = st.active.take().unwrap_or_default();

    for job in &snapshot.jobs {
        let name = job.metadata.name.as_deref().unwrap_or("");
        let found = active.iter().any(|r| r.uid == job.metadata.uid);
        let done = finished(job);
        match (found, done) {
            (false, None) => out.events.push(event(
                true,
                "UnexpectedJob",
                format!("Saw a job that the controller did not create or forgot: {name}"),
            )),
            (true, Some(condition)) => {
                active.retain(|r| r.uid != job.metadata.uid);
                out.events.push(event(
                    false,
                    "SawCompletedJob",
                    format!("Saw completed job: {name}, condition: {condition}"),
                ));
            }
            _ => {}
        }
        if done == Some("Complete") {
            let completed = job.status.as_ref().and_then(|s| s.completion_time.clone());
            if completed.is_some()
                && (st.last_successful_time.is_none() || completed > st.last_successful_time)
            {
                st.last_successful_time = completed;
            }
        }
    }
    // Active Jobs that no longer exist.
    let known: Vec<_> = snapshot.jobs.iter().map(|j| &j.metadata.uid).collect();
    active.retain(|r| {
        let present = known.contains(&&r.uid);
        if !present {
            let name = r.name.clone().unwrap_or_default();
            out.events.push(event(
                false,
                "MissingJob",
                format!("Active job went missing: {name}"),
            ));
        }
        present
    });

    schedule(snapshot, &mut st, &mut active, &mut out);

    // History: finished Jobs beyond the limits.
    for r in history_to_delete(cj, &snapshot.jobs) {
        if !out.delete.contains(&r) {
            out.events.push(event(
                false,
                "SuccessfulDelete",
                format!("Deleted job {}", r.name),
            ));
            out.delete.push(r);
        }
    }

    st.active = (!active.is_empty()).then_some(active);
    if st != old {
        out.status = Some(st);
    }
    out
}

/// The scheduling part: whether a Job is due, and what to do about it.
fn schedule(
    snapshot: &CronSnapshot,
    st: &mut CronJobStatus,
    active: &mut Vec<ObjectReference>,
    out: &mut CronPlan,
) {
    let cj = snapshot.cron_job;
    let now = snapshot.now;
    if cj.metadata.deletion_timestamp.is_some() {
        return;
    }
    let Some(spec) = cj.spec.as_ref() else { return };
    let parsed = schedule_of(cj);
    if let Err(e @ ScheduleError::UnknownTimeZone(_)) = &parsed {
        out.events
            .push(event(true, "UnknownTimeZone", e.to_string()));
        return;
    }
    if spec.suspend == Some(true) {
        return;
    }
    let (schedule, tz) = match parsed {
        Ok(s) => s,
        Err(e) => {
            out.events
                .push(event(true, "UnparseableSchedule", e.to_string()));
            return;
        }
    };
    if spec.schedule.contains("TZ") {
        out.events.push(event(true, "UnsupportedSchedule", format!(
            "CRON_TZ or TZ used in schedule \"{}\" is not officially supported, see https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details",
            spec.schedule
        )));
    }

    let created = cj.metadata.creation_timestamp.as_ref().map_or(now, |t| t.0);
    let last = st.last_schedule_time.as_ref().map_or(created, |t| t.0);
    let deadline = spec
        .starting_deadline_seconds
        .map(SignedDuration::from_secs);
    let earliest = match deadline {
        Some(d) => last.max(now.checked_sub(d).unwrap_or(last)),
        None => last,
    };
    let due = match most_recent(&schedule, &tz, earliest, now, &spec.schedule) {
        Ok(due) => due,
        Err(e) => {
            out.events
                .push(event(true, "InvalidSchedule", e.to_string()));
            return;
        }
    };
    // Requeue just after the next time (computed without the deadline).
    let requeue = |st: &CronJobStatus| {
        let last = st.last_schedule_time.as_ref().map_or(created, |t| t.0);
        let base = most_recent(&schedule, &tz, last, now, &spec.schedule)
            .ok()
            .and_then(|d| d.time)
            .unwrap_or(last);
        until_next(&schedule, &tz, base, now)
    };
    let Some(scheduled) = due.time else {
        out.requeue_after = requeue(st);
        return;
    };
    if due.missed > MAX_MISSED {
        out.events.push(event(true, "TooManyMissedTimes",
            "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew".into()));
    }
    if let Some(d) = deadline
        && scheduled.checked_add(d).is_ok_and(|t| t < now)
    {
        out.events.push(event(
            true,
            "MissSchedule",
            format!(
                "Missed scheduled time to start a job: {}",
                rfc1123z(scheduled)
            ),
        ));
        out.requeue_after = requeue(st);
        return;
    }
    let name = job_name(cj, scheduled);
    let scheduled_time = Some(Time(scheduled));
    // Already created (maybe by a plan whose status write did not happen).
    if let Some(existing) = snapshot
        .jobs
        .iter()
        .find(|j| j.metadata.name.as_deref() == Some(&name))
    {
        if finished(existing).is_none() && !active.iter().any(|r| r.uid == existing.metadata.uid) {
            active.push(reference(existing));
        }
        if st
            .last_schedule_time
            .as_ref()
            .is_none_or(|t| t.0 < scheduled)
        {
            st.last_schedule_time = scheduled_time;
        }
        out.requeue_after = requeue(st);
        return;
    }
    if active.iter().any(|r| r.name.as_deref() == Some(&name))
        || st.last_schedule_time == scheduled_time
    {
        out.requeue_after = requeue(st);
        return;
    }
    match spec.concurrency_policy.as_deref() {
        Some("Forbid") if !active.is_empty() => {
            out.events.push(event(false, "JobAlreadyActive",
                "Not starting job because prior execution is running and concurrency policy is Forbid".into()));
            out.requeue_after = requeue(st);
            return;
        }
        Some("Replace") => {
            for r in active.drain(..) {
                let name = r.name.unwrap_or_default();
                out.events.push(event(
                    false,
                    "SuccessfulDelete",
                    format!("Deleted job {name}"),
                ));
                out.delete.push(JobRef {
                    name,
                    uid: r.uid.unwrap_or_default(),
                });
            }
        }
        _ => {}
    }
    let job = new_job(cj, scheduled, &tz);
    out.events.push(event(
        false,
        "SuccessfulCreate",
        format!("Created job {name}"),
    ));
    active.push(reference(&job));
    st.last_schedule_time = scheduled_time;
    out.create = Some(job);
    out.requeue_after = requeue(st);
}

/// Go's RFC 1123 with a numeric zone, in UTC.
fn rfc1123z(t: Timestamp) -> String {
    t.strftime("%a, %d %b %Y %H:%M:%S +0000").to_string()
}
