import { readFileSync } from 'node:fs';
import { EnvironmentError, errorMessage } from '../errors.ts';

/** A file a worker needs whose content is secret: shipped as a Swarm secret, never in env or argv. */
export interface SecretFile {
  /** Short name: the secret is restore-drill-<run>-<key>, the file /run/secrets/<key>. */
  key: string;
  data: Buffer;
}

/** What a worker needs to read the run's sources as the submitter does: secret files, and plain settings naming them. */
export interface SourceAccess {
  files: SecretFile[];
  /** Settings with no secret value: endpoints, regions, and the paths of the secret files in the task. */
  env: Record<string, string>;
}

/** Where Swarm mounts a secret in the task's container (docker's default target). */
export const secretPath = (key: string): string => `/run/secrets/${key}`;

/** The AWS settings that carry no secret and change where or how the SDK connects. */
const AWS_PLAIN = ['AWS_ENDPOINT_URL_S3', 'AWS_ENDPOINT_URL', 'AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_MAX_ATTEMPTS', 'AWS_RETRY_MODE'];

export interface SourceAccessOptions {
  /** The selection's locations and the report location: which sources the workers read or write. */
  locations: string[];
  env: NodeJS.ProcessEnv;
  /** The credentials the AWS chain gives this process (injected by tests). */
  awsCredentials?: () => Promise<{ accessKeyId: string; secretAccessKey: string; sessionToken?: string }>;
}

/**
 * The credentials the workers need, taken from where this process finds its
 * own: for s3:// the SDK's chain (environment, profile, ~/.aws, SSO) resolved
 * here once and written as a shared credentials file, so a worker needs none
 * of the submitter's AWS files; restic's password file and rclone's config
 * file as they are. Each becomes a Swarm secret (mounted 0400 in the task);
 * the worker's environment names only their paths.
 */
export async function sourceAccess(opts: SourceAccessOptions): Promise<SourceAccess> {
  const { env } = opts;
  const files: SecretFile[] = [];
  const out: Record<string, string> = {};
  if (opts.locations.some((l) => l.startsWith('s3://') || /^restic:s3:/.test(l))) {
    const creds = await (opts.awsCredentials ?? (() => awsChainCredentials(env)))();
    const lines = ['[default]', `aws_access_key_id = ${creds.accessKeyId}`, `aws_secret_access_key = ${creds.secretAccessKey}`];
    if (creds.sessionToken) lines.push(`aws_session_token = ${creds.sessionToken}`);
    files.push({ key: 'aws-credentials', data: Buffer.from(`${lines.join('\n')}\n`) });
    Object.assign(out, { AWS_SHARED_CREDENTIALS_FILE: secretPath('aws-credentials'), AWS_PROFILE: 'default', AWS_CONFIG_FILE: '/dev/null' });
    for (const k of AWS_PLAIN) if (env[k]) out[k] = env[k]!;
    // restic's S3 backend (minio-go) reads the same shared credentials file and profile.
  }
  if (opts.locations.some((l) => l.startsWith('restic:'))) {
    const pw = env.RESTIC_PASSWORD_FILE ? readSecretFile(env.RESTIC_PASSWORD_FILE, 'RESTIC_PASSWORD_FILE') : env.RESTIC_PASSWORD ? Buffer.from(env.RESTIC_PASSWORD) : undefined;
    if (pw) {
      files.push({ key: 'restic-password', data: pw });
      out.RESTIC_PASSWORD_FILE = secretPath('restic-password');
    }
  }
  if (opts.locations.some((l) => l.startsWith('rclone:')) && env.RCLONE_CONFIG) {
    files.push({ key: 'rclone-config', data: readSecretFile(env.RCLONE_CONFIG, 'RCLONE_CONFIG') });
    out.RCLONE_CONFIG = secretPath('rclone-config');
  }
  return { files, env: out };
}

function readSecretFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new EnvironmentError(`${what} names a file that cannot be read (${(e as NodeJS.ErrnoException).code ?? errorMessage(e)}): the workers need its content`, 'RD_SOURCE_DENIED');
  }
}

/** This process's AWS credentials through the S3 client's own chain (the one the s3 source uses). */
async function awsChainCredentials(env: NodeJS.ProcessEnv): Promise<{ accessKeyId: string; secretAccessKey: string; sessionToken?: string }> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const { S3Client } = await import('@aws-sdk/client-s3');
  const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL;
  const client = new S3Client({ region: env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1', ...(endpoint ? { endpoint } : {}) });
  try {
    const c = await client.config.credentials();
    return { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, ...(c.sessionToken ? { sessionToken: c.sessionToken } : {}) };
  } catch (e) {
    throw new EnvironmentError(`the workers need S3 credentials and the AWS configuration gives this process none (${errorMessage(e).split('\n')[0]}): set them as for a local run (AWS_PROFILE, AWS_ACCESS_KEY_ID, ~/.aws)`, 'RD_SOURCE_DENIED');
  } finally {
    client.destroy();
  }
}
