import type { Readable } from 'node:stream';
import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import { errorMessage } from '../errors.ts';
import { isArchiveCandidate } from '../select/expand.ts';
import { escapeControl, lastSegment, safeDisplay } from './display.ts';
import { parseS3Location, s3Url } from './s3-location.ts';
import { SourceError } from './source-error.ts';
import type { ArchiveSource, SourceObject } from './source.ts';

/**
 * Objects in S3 or an S3-compatible store, through @aws-sdk/client-s3 (loaded
 * only when an s3:// location is used). Region, endpoint
 * (`AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL`), profile and credentials come
 * from the SDK's standard configuration chain; retries are the SDK's.
 */
export class S3Source implements ArchiveSource {
  readonly kind = 's3';
  private client?: Promise<S3Client>;

  /** `clientConfig` overrides the chain (tests); `env` is where the endpoint is read for path-style. */
  constructor(private readonly options: { env?: NodeJS.ProcessEnv; clientConfig?: S3ClientConfig } = {}) {}

  handles(location: string): boolean {
    return location.startsWith('s3://');
  }

  display(location: string): string {
    return safeDisplay(location);
  }

  async list(location: string, signal?: AbortSignal): Promise<SourceObject[]> {
    const loc = parseS3Location(location);
    const s3 = await this.sdk();
    const client = await this.getClient();
    if (!loc.prefix) {
      const head = await client.send(new s3.HeadObjectCommand({ Bucket: loc.bucket, Key: loc.key }), { abortSignal: signal }).catch((e: unknown) => {
        throw this.failure(location, e, 'no such object (404); a prefix ends with /');
      });
      return [objectOf(loc.bucket, loc.key, head.ContentLength, head.LastModified, head.VersionId, head.ETag)];
    }
    // Only the objects directly below the prefix, as a folder lists its files;
    // every page is read (a listing returns at most 1,000 keys at a time).
    const out: SourceObject[] = [];
    let token: string | undefined;
    do {
      const page = await client
        .send(new s3.ListObjectsV2Command({ Bucket: loc.bucket, Prefix: loc.key, Delimiter: '/', ContinuationToken: token }), { abortSignal: signal })
        .catch((e: unknown) => {
          throw this.failure(location, e, 'no such bucket (404)');
        });
      for (const o of page.Contents ?? []) {
        if (o.Key === undefined || o.Key.endsWith('/')) continue;
        if (!isArchiveCandidate(lastSegment(o.Key))) continue;
        out.push(objectOf(loc.bucket, o.Key, o.Size, o.LastModified, undefined, o.ETag));
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out.sort((a, b) => (a.location < b.location ? -1 : a.location > b.location ? 1 : 0));
  }

  async open(location: string, signal?: AbortSignal): Promise<{ object: SourceObject; stream: Readable }> {
    const loc = parseS3Location(location);
    if (loc.prefix) throw new SourceError(`${this.display(location)}: a prefix, not an object: list it first`, 'RD_SOURCE_PREFIX');
    const s3 = await this.sdk();
    const client = await this.getClient();
    const got = await client.send(new s3.GetObjectCommand({ Bucket: loc.bucket, Key: loc.key }), { abortSignal: signal }).catch((e: unknown) => {
      throw this.failure(location, e, 'no such object (404)');
    });
    const object = objectOf(loc.bucket, loc.key, got.ContentLength, got.LastModified, got.VersionId, got.ETag);
    return { object, stream: got.Body as Readable };
  }

  async readSmall(location: string, maxBytes: number, signal?: AbortSignal): Promise<Buffer | undefined> {
    const loc = parseS3Location(location);
    const s3 = await this.sdk();
    const client = await this.getClient();
    let got;
    try {
      // The range bounds what the store sends even if the object is huge.
      got = await client.send(new s3.GetObjectCommand({ Bucket: loc.bucket, Key: loc.key, Range: `bytes=0-${maxBytes}` }), { abortSignal: signal });
    } catch (e) {
      if (statusOf(e) === 404 && nameOf(e) !== 'NoSuchBucket') return undefined;
      // An empty object has no byte 0 to range over.
      if (statusOf(e) === 416) return Buffer.alloc(0);
      throw this.failure(location, e, 'not found (404)');
    }
    const total = totalFromRange(got.ContentRange) ?? got.ContentLength;
    if (total !== undefined && total > maxBytes) {
      (got.Body as Readable).destroy();
      throw new SourceError(`${this.display(location)}: ${total} bytes, more than the ${maxBytes} allowed for this file`, 'RD_SOURCE_TOO_LARGE');
    }
    const chunks: Buffer[] = [];
    let n = 0;
    for await (const chunk of got.Body as Readable) {
      n += (chunk as Buffer).length;
      if (n > maxBytes) {
        (got.Body as Readable).destroy();
        throw new SourceError(`${this.display(location)}: more than the ${maxBytes} bytes allowed for this file`, 'RD_SOURCE_TOO_LARGE');
      }
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks);
  }

  /**
   * Writes one small object (a shard's report, its signed evidence) whole, with
   * the same SDK, configuration chain and client as the reads: where a worker
   * reads its archives, it can write its report. Failures are said as reads' are.
   */
  async put(location: string, body: string | Buffer, contentType: string, signal?: AbortSignal): Promise<void> {
    const loc = parseS3Location(location);
    if (loc.prefix) throw new SourceError(`${this.display(location)}: a prefix, not an object: name the object to write`, 'RD_SOURCE_PREFIX');
    const s3 = await this.sdk();
    const client = await this.getClient();
    await client.send(new s3.PutObjectCommand({ Bucket: loc.bucket, Key: loc.key, Body: body, ContentType: contentType }), { abortSignal: signal }).catch((e: unknown) => {
      throw this.failure(location, e, 'no such bucket (404)');
    });
  }

  private sdk(): Promise<typeof import('@aws-sdk/client-s3')> {
    return import('@aws-sdk/client-s3');
  }

  private getClient(): Promise<S3Client> {
    this.client ??= this.makeClient();
    return this.client;
  }

  /** The endpoint the chain will use, if a custom one is set in the environment. */
  endpoint(): string | undefined {
    const env = this.options.env ?? process.env;
    return env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
  }

  private async makeClient(): Promise<S3Client> {
    // The SDK's notice that its releases after January 2027 need Node 22 is for
    // whoever upgrades the SDK, not for the operator reading a drill's output.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    const { S3Client } = await this.sdk();
    // S3-compatible stores behind a custom endpoint (SeaweedFS, MinIO, Ceph)
    // answer path-style requests; virtual-hosted style would need wildcard DNS.
    const custom = this.endpoint() !== undefined;
    // Response checksums only where the API requires them: the drill checks the
    // whole archive's sha256 against the manifest as it arrives (a stronger
    // check), and the SDK's extra pass over every byte costs throughput.
    const base: S3ClientConfig = { forcePathStyle: custom, responseChecksumValidation: 'WHEN_REQUIRED', ...this.options.clientConfig };
    const client = new S3Client(base);
    try {
      await client.config.region();
      return client;
    } catch {
      // No region in the chain: a custom endpoint does not care which; AWS
      // itself redirects, and us-east-1 is the SDK's global default.
      client.destroy();
      return new S3Client({ ...base, region: 'us-east-1' });
    }
  }

  /** One line: the location's display form and what answered. */
  private failure(location: string, e: unknown, notFound: string): SourceError {
    const shown = this.display(location);
    const status = statusOf(e);
    const name = nameOf(e);
    if (status === 404) return new SourceError(`${shown}: ${name === 'NoSuchBucket' ? 'no such bucket (404)' : notFound}`, 'RD_SOURCE_NOT_FOUND', { cause: e });
    if (status === 403 || status === 401) {
      return new SourceError(`${shown}: access denied (${status}${name && name !== String(status) ? ` ${name}` : ''}): check the credentials the AWS configuration gives`, 'RD_SOURCE_DENIED', { cause: e });
    }
    if (status !== undefined) return new SourceError(`${shown}: the store answered ${status}${name ? ` ${name}` : ''}`, 'RD_SOURCE', { cause: e });
    if (name === 'CredentialsProviderError') return new SourceError(`${shown}: no credentials in the AWS configuration (environment, profile, ~/.aws)`, 'RD_SOURCE_DENIED', { cause: e });
    const code = (e as { code?: unknown }).code;
    const endpoint = this.endpoint();
    const where = endpoint ? ` at ${safeDisplay(endpoint)}` : '';
    if (code === 'ECONNREFUSED') return new SourceError(`${shown}: connection refused${where}`, 'RD_SOURCE_UNREACHABLE', { cause: e });
    if (code === 'ECONNRESET' || code === 'EPIPE') return new SourceError(`${shown}: connection cut${where}`, 'RD_SOURCE_CUT', { cause: e });
    return new SourceError(`${shown}: ${escapeControl(errorMessage(e).split('\n')[0]!.slice(0, 200))}`, 'RD_SOURCE', { cause: e });
  }
}

function objectOf(bucket: string, key: string, size?: number, modified?: Date, versionId?: string, etag?: string): SourceObject {
  // An unversioned bucket answers versionId "null": the ETag is what pins the bytes then.
  const version = versionId && versionId !== 'null' ? versionId : etag?.replace(/^"|"$/g, '');
  return { location: s3Url(bucket, key), name: lastSegment(key), sizeBytes: size, modifiedAt: modified, version };
}

function statusOf(e: unknown): number | undefined {
  return (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

function nameOf(e: unknown): string | undefined {
  return e instanceof Error ? e.name : undefined;
}

function totalFromRange(range: string | undefined): number | undefined {
  const m = range ? /\/(\d+)$/.exec(range) : null;
  return m ? Number(m[1]) : undefined;
}
