import { z } from 'zod';

/**
 * Hiveloom's own output, parsed at the edge. Anything that does not parse is
 * undefined, and the caller makes that an error: never a pass.
 */

const DoctorCheck = z.object({ check: z.string().min(1), pass: z.boolean(), detail: z.string() }).loose();
export type DoctorCheck = z.infer<typeof DoctorCheck>;

/** `hiveloom doctor --json`: an array of {check, pass, detail}. Its exit code is always 0 and means nothing. */
export function parseDoctor(stdout: string): DoctorCheck[] | undefined {
  const r = z.array(DoctorCheck).min(1).safeParse(json(stdout));
  return r.success ? r.data : undefined;
}

const TenantListRow = z.object({ id: z.string().min(1), slug: z.string().min(1), name: z.string() }).loose();
export type TenantListRow = z.infer<typeof TenantListRow>;

/** `hiveloom tenant list --json`: every tenant (deleted ones included). */
export function parseTenantList(stdout: string): TenantListRow[] | undefined {
  const r = z.array(TenantListRow).safeParse(json(stdout));
  return r.success ? r.data : undefined;
}

const AgentListRow = z.object({ id: z.string().min(1), name: z.string() }).loose();

/** `hiveloom agent list --tenant <slug> --json`: the tenant's current agents. */
export function parseAgentList(stdout: string): Array<z.infer<typeof AgentListRow>> | undefined {
  const r = z.array(AgentListRow).safeParse(json(stdout));
  return r.success ? r.data : undefined;
}

const RestoreResult = z.object({ status: z.string(), scope: z.string().optional(), tenant: z.string().nullable().optional() }).loose();

/** `hiveloom backup restore --input X --json`: {status: "restored", scope, tenant}. */
export function parseRestore(stdout: string): z.infer<typeof RestoreResult> | undefined {
  const r = RestoreResult.safeParse(json(stdout));
  return r.success ? r.data : undefined;
}

/** `hiveloom version`: "hiveloom 0.2.0". */
export function parseVersion(stdout: string): string | undefined {
  return /^hiveloom (\S+)\s*$/m.exec(stdout)?.[1];
}

function json(text: string): unknown {
  try {
    return JSON.parse(text.trim());
  } catch {
    return undefined;
  }
}

/** A command's output for a finding: the last lines, trimmed. */
export function quote(stdout: string, stderr: string, lines = 3): string {
  const text = `${stderr.trim()}\n${stdout.trim()}`.trim();
  if (!text) return '(no output)';
  return text.split('\n').slice(-lines).join(' | ').slice(0, 600);
}
