/**
 * Shared workers: the checks the node's workforce service makes (regional_node/workforce/
 * service.py), run before sending so each problem is named at its field, and the shaping of
 * proposals and shortfalls for the pages.
 */

export const SHIFTS = ["day", "evening", "night"] as const;
export const MAX_SKILLS = 10;
export const MAX_CERTIFICATES = 10;
export const MAX_DAYS = 120;
const NAME = /^[a-z][a-z0-9_]{0,59}$/;
const DAY = /^\d{4}-\d{2}-\d{2}$/;

export interface FormProblem {
  /** The field, as the form names it. */
  path: string;
  /** Under `problems.` in the workforce namespace. */
  key: string;
  values?: Record<string, string | number>;
}

/** "sewing:4, cnc:2" as skills with levels; a skill without a level is level 1. */
export function parseSkills(text: string): { skill: string; level: number }[] {
  return splitList(text).map((part) => {
    const [skill = "", level] = part.split(":").map((s) => s.trim());
    return { skill, level: level === undefined || level === "" ? 1 : Number(level) };
  });
}

/** Comma- or space-separated names, each once. */
export function splitList(text: string): string[] {
  return [
    ...new Set(
      text
        .split(/[,\s]+/)
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
}

function daysBetween(first: string, last: string): number {
  return (Date.parse(`${last}T00:00:00Z`) - Date.parse(`${first}T00:00:00Z`)) / 86_400_000 + 1;
}

function checkDates(
  problems: FormProblem[],
  first: string,
  last: string,
  paths: [string, string],
): void {
  if (!DAY.test(first) || Number.isNaN(Date.parse(first))) {
    problems.push({ path: paths[0], key: "day" });
  }
  if (!DAY.test(last) || Number.isNaN(Date.parse(last))) {
    problems.push({ path: paths[1], key: "day" });
    return;
  }
  if (problems.some((p) => p.path === paths[0])) return;
  const days = daysBetween(first, last);
  if (days < 1) problems.push({ path: paths[1], key: "lastBeforeFirst" });
  else if (days > MAX_DAYS)
    problems.push({ path: paths[1], key: "tooManyDays", values: { max: MAX_DAYS } });
}

function checkPlace(problems: FormProblem[], lat: number | null, lon: number | null): void {
  if (lat === null || !(lat >= -90 && lat <= 90)) problems.push({ path: "lat", key: "lat" });
  if (lon === null || !(lon >= -180 && lon <= 180)) problems.push({ path: "lon", key: "lon" });
}

function checkNames(problems: FormProblem[], names: string[], path: string): void {
  const bad = names.find((name) => !NAME.test(name));
  if (bad !== undefined) problems.push({ path, key: "name", values: { name: bad } });
}

export interface WorkerDraft {
  pseudonym: string;
  name: string;
  skills: string;
  certificates: string;
  safetyTrained: boolean;
  availableFrom: string;
  availableTo: string;
  shifts: string[];
  homeArea: string;
  lat: number | null;
  lon: number | null;
  radiusKm: number | null;
  wageFloor: number | null;
  team: string;
  phone: string;
  email: string;
}

export interface WorkerInput {
  pseudonym: string;
  name: string;
  skills: { skill: string; level: number }[];
  certificates: string[];
  safetyTrained: boolean;
  availableFrom: string;
  availableTo: string;
  shifts: string[];
  homeArea: string;
  homeLat: number;
  homeLon: number;
  radiusKm: number;
  wageFloor: number;
  team: string | null;
  phone: string | null;
  email: string | null;
}

/** A worker's profile as postWorkers takes it, or the problems, each at its field. */
export function checkWorker(draft: WorkerDraft): {
  input: WorkerInput | null;
  problems: FormProblem[];
} {
  const problems: FormProblem[] = [];
  const pseudonym = draft.pseudonym.trim();
  if (pseudonym.length < 1 || pseudonym.length > 40) {
    problems.push({ path: "pseudonym", key: "length", values: { min: 1, max: 40 } });
  }
  const name = draft.name.trim();
  if (name.length < 1 || name.length > 100) {
    problems.push({ path: "name", key: "length", values: { min: 1, max: 100 } });
  }
  const skills = parseSkills(draft.skills);
  if (skills.length < 1 || skills.length > MAX_SKILLS) {
    problems.push({ path: "skills", key: "skillCount", values: { max: MAX_SKILLS } });
  } else {
    checkNames(
      problems,
      skills.map((s) => s.skill),
      "skills",
    );
    const badLevel = skills.find((s) => !Number.isInteger(s.level) || s.level < 1 || s.level > 5);
    if (badLevel && !problems.some((p) => p.path === "skills")) {
      problems.push({ path: "skills", key: "level", values: { name: badLevel.skill } });
    }
  }
  const certificates = splitList(draft.certificates);
  if (certificates.length > MAX_CERTIFICATES) {
    problems.push({ path: "certificates", key: "tooMany", values: { max: MAX_CERTIFICATES } });
  } else checkNames(problems, certificates, "certificates");
  if (draft.shifts.length === 0) problems.push({ path: "shifts", key: "shifts" });
  checkDates(problems, draft.availableFrom, draft.availableTo, ["availableFrom", "availableTo"]);
  const homeArea = draft.homeArea.trim();
  if (homeArea.length < 1 || homeArea.length > 100) {
    problems.push({ path: "homeArea", key: "length", values: { min: 1, max: 100 } });
  }
  checkPlace(problems, draft.lat, draft.lon);
  if (draft.radiusKm === null || draft.radiusKm < 0 || draft.radiusKm > 300) {
    problems.push({ path: "radiusKm", key: "range", values: { min: 0, max: 300 } });
  }
  if (draft.wageFloor === null || draft.wageFloor < 0 || draft.wageFloor > 100_000) {
    problems.push({ path: "wageFloor", key: "range", values: { min: 0, max: 100_000 } });
  }
  const team = draft.team.trim();
  if (team.length > 40) problems.push({ path: "team", key: "length", values: { min: 1, max: 40 } });
  const phone = draft.phone.trim();
  if (phone.length > 40)
    problems.push({ path: "phone", key: "length", values: { min: 0, max: 40 } });
  const email = draft.email.trim();
  if (email.length > 200) {
    problems.push({ path: "email", key: "length", values: { min: 0, max: 200 } });
  }
  if (problems.length > 0) return { input: null, problems };
  return {
    problems,
    input: {
      pseudonym,
      name,
      skills,
      certificates,
      safetyTrained: draft.safetyTrained,
      availableFrom: draft.availableFrom,
      availableTo: draft.availableTo,
      shifts: draft.shifts,
      homeArea,
      homeLat: draft.lat as number,
      homeLon: draft.lon as number,
      radiusKm: draft.radiusKm as number,
      wageFloor: draft.wageFloor as number,
      team: team || null,
      phone: phone || null,
      email: email || null,
    },
  };
}

export interface NeedDraft {
  title: string;
  siteArea: string;
  lat: number | null;
  lon: number | null;
  skill: string;
  minLevel: number | null;
  certificates: string;
  firstDay: string;
  lastDay: string;
  /** Workers a day per shift; null or 0 where none. */
  headcount: Record<string, number | null>;
  wage: number | null;
  priority: number | null;
  safetyTraining: boolean;
  keepTeam: boolean;
  housing: boolean;
  transport: boolean;
}

export interface NeedInput {
  title: string;
  siteArea: string;
  siteLat: number;
  siteLon: number;
  skill: string;
  minLevel: number;
  certificates: string[];
  firstDay: string;
  lastDay: string;
  headcount: { shift: string; workers: number }[];
  wage: number;
  priority: number;
  safetyTraining: boolean;
  keepTeam: boolean;
  housing: boolean;
  transport: boolean;
}

/** A need as postWorkforceNeed takes it, or the problems, each at its field. */
export function checkNeed(draft: NeedDraft): { input: NeedInput | null; problems: FormProblem[] } {
  const problems: FormProblem[] = [];
  const title = draft.title.trim();
  if (title.length < 1 || title.length > 200) {
    problems.push({ path: "title", key: "length", values: { min: 1, max: 200 } });
  }
  const siteArea = draft.siteArea.trim();
  if (siteArea.length < 1 || siteArea.length > 100) {
    problems.push({ path: "siteArea", key: "length", values: { min: 1, max: 100 } });
  }
  checkPlace(problems, draft.lat, draft.lon);
  const skill = draft.skill.trim();
  checkNames(problems, [skill], "skill");
  if (
    draft.minLevel === null ||
    !Number.isInteger(draft.minLevel) ||
    draft.minLevel < 1 ||
    draft.minLevel > 5
  ) {
    problems.push({ path: "minLevel", key: "range", values: { min: 1, max: 5 } });
  }
  const certificates = splitList(draft.certificates);
  if (certificates.length > MAX_CERTIFICATES) {
    problems.push({ path: "certificates", key: "tooMany", values: { max: MAX_CERTIFICATES } });
  } else checkNames(problems, certificates, "certificates");
  checkDates(problems, draft.firstDay, draft.lastDay, ["firstDay", "lastDay"]);
  const headcount = SHIFTS.map((shift) => ({ shift, workers: draft.headcount[shift] ?? 0 }));
  if (headcount.some((h) => !Number.isInteger(h.workers) || h.workers < 0 || h.workers > 500)) {
    problems.push({ path: "headcount", key: "headcount" });
  } else if (!headcount.some((h) => h.workers > 0)) {
    problems.push({ path: "headcount", key: "nobody" });
  }
  if (draft.wage === null || !(draft.wage > 0) || draft.wage > 100_000) {
    problems.push({ path: "wage", key: "wage" });
  }
  if (
    draft.priority === null ||
    !Number.isInteger(draft.priority) ||
    draft.priority < 1 ||
    draft.priority > 10
  ) {
    problems.push({ path: "priority", key: "range", values: { min: 1, max: 10 } });
  }
  if (problems.length > 0) return { input: null, problems };
  return {
    problems,
    input: {
      title,
      siteArea,
      siteLat: draft.lat as number,
      siteLon: draft.lon as number,
      skill,
      minLevel: draft.minLevel as number,
      certificates,
      firstDay: draft.firstDay,
      lastDay: draft.lastDay,
      headcount: headcount.filter((h) => h.workers > 0),
      wage: draft.wage as number,
      priority: draft.priority as number,
      safetyTraining: draft.safetyTraining,
      keepTeam: draft.keepTeam,
      housing: draft.housing,
      transport: draft.transport,
    },
  };
}

export interface ProposalLike {
  status: "PROPOSED" | "ACCEPTED" | "DECLINED" | "WITHDRAWN";
  employerAcceptedAt?: string | null;
  workerAcceptedAt?: string | null;
}

/** Whose acceptance a proposal still waits for; empty once decided. */
export function awaiting(proposal: ProposalLike): ("EMPLOYER" | "WORKER")[] {
  if (proposal.status !== "PROPOSED") return [];
  const parties: ("EMPLOYER" | "WORKER")[] = [];
  if (!proposal.employerAcceptedAt) parties.push("EMPLOYER");
  if (!proposal.workerAcceptedAt) parties.push("WORKER");
  return parties;
}

/** The borrower may ask for the contact only once both sides accepted. */
export function contactReleased(proposal: ProposalLike): boolean {
  return (
    proposal.status === "ACCEPTED" &&
    Boolean(proposal.employerAcceptedAt) &&
    Boolean(proposal.workerAcceptedAt)
  );
}

/** "2 day, 1 night" from a need's headcount. */
export function headcountText(headcount: { shift: string; workers: number }[]): string {
  return headcount.map((h) => `${h.workers} ${h.shift}`).join(", ");
}

export interface ShortfallLike {
  needId: string;
  day: string;
  shift: string;
  wanted: number;
  covered: number;
  code: string;
  reason: string;
}

export interface ShortfallGroup {
  needId: string;
  code: string;
  reason: string;
  firstDay: string;
  lastDay: string;
  days: number;
  missing: number;
}

/** Shortfalls grouped by need and reason: the days they span and the worker-days missing. */
export function groupShortfalls(shortfalls: ShortfallLike[]): ShortfallGroup[] {
  const groups = new Map<string, ShortfallGroup>();
  for (const s of shortfalls) {
    const key = `${s.needId}\u0000${s.code}`;
    const missing = Math.max(0, s.wanted - s.covered);
    const group = groups.get(key);
    if (group) {
      if (s.day < group.firstDay) group.firstDay = s.day;
      if (s.day > group.lastDay) group.lastDay = s.day;
      group.days += 1;
      group.missing += missing;
    } else {
      groups.set(key, {
        needId: s.needId,
        code: s.code,
        reason: s.reason,
        firstDay: s.day,
        lastDay: s.day,
        days: 1,
        missing,
      });
    }
  }
  return [...groups.values()].sort(
    (a, b) => b.missing - a.missing || a.needId.localeCompare(b.needId),
  );
}

/** An attendance record as recordWorkforceAttendance takes it: a day of the proposal's. */
export function checkAttendance(
  days: string[],
  day: string | null,
  present: boolean,
  hours: number | null,
): FormProblem[] {
  const problems: FormProblem[] = [];
  if (day === null || !days.includes(day)) problems.push({ path: "day", key: "notADay" });
  if (hours === null || hours < 0 || hours > 16) {
    problems.push({ path: "hours", key: "range", values: { min: 0, max: 16 } });
  } else if (!present && hours > 0) problems.push({ path: "hours", key: "absentHours" });
  return problems;
}

/** A rating as rateWorkforceAssignment takes it. */
export function checkRating(score: number | null, comment: string): FormProblem[] {
  const problems: FormProblem[] = [];
  if (score === null || !Number.isInteger(score) || score < 1 || score > 5) {
    problems.push({ path: "score", key: "range", values: { min: 1, max: 5 } });
  }
  if (comment.length > 500) {
    problems.push({ path: "comment", key: "length", values: { min: 0, max: 500 } });
  }
  return problems;
}
