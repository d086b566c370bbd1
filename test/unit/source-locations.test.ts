import { describe, expect, it } from 'vitest';
import { RcloneSource } from '../../harness/sources/rclone.ts';
import { parseResticLocation, resticLocation } from '../../harness/sources/restic-location.ts';
import { ResticSource } from '../../harness/sources/restic.ts';
import { parseS3Location } from '../../harness/sources/s3-location.ts';
import { S3Source } from '../../harness/sources/s3.ts';
import { sourceFor } from '../../harness/sources/source-for.ts';

describe('s3:// locations', () => {
  it('an object, a prefix, a bucket', () => {
    expect(parseS3Location('s3://backups/z4j/2026-11-22.db')).toEqual({ bucket: 'backups', key: 'z4j/2026-11-22.db', prefix: false });
    expect(parseS3Location('s3://backups/z4j/')).toEqual({ bucket: 'backups', key: 'z4j/', prefix: true });
    expect(parseS3Location('s3://backups')).toEqual({ bucket: 'backups', key: '', prefix: true });
    expect(parseS3Location('s3://backups/')).toEqual({ bucket: 'backups', key: '', prefix: true });
  });

  it('keeps keys exactly as written (no percent-decoding; ? and # are key characters)', () => {
    expect(parseS3Location('s3://b1/a%20b?x#y').key).toBe('a%20b?x#y');
  });

  it('refuses a missing bucket, credentials in the location (without echoing them), and control characters', () => {
    expect(() => parseS3Location('s3:///key')).toThrow(/no valid bucket name/);
    expect(() => parseS3Location('s3://AKIA:hunter2@bucket/key')).toThrow(/credentials in the location are refused/);
    try {
      parseS3Location('s3://AKIA:hunter2@bucket/key');
    } catch (e) {
      expect((e as Error).message).not.toContain('hunter2');
    }
    expect(() => parseS3Location('s3://bucket/a\nb')).toThrow(/control characters/);
  });
});

describe('restic: locations', () => {
  it('a repository path, latest, a path', () => {
    expect(parseResticLocation('restic:/srv/restic#latest:/var/backups/z4j/x.db')).toEqual({
      repository: '/srv/restic', snapshot: 'latest', filters: { host: [], tag: [], path: [] }, path: '/var/backups/z4j/x.db', folder: false,
    });
  });

  it('a repository with colons and a URL, a snapshot id, a folder', () => {
    const l = parseResticLocation('restic:s3:http://127.0.0.1:8333/bucket/repo#0a3366bd:/var/backups/');
    expect(l).toMatchObject({ repository: 's3:http://127.0.0.1:8333/bucket/repo', snapshot: '0a3366bd', path: '/var/backups/', folder: true });
    expect(parseResticLocation('restic:sftp:user@host:/srv/repo#latest:/x.db').repository).toBe('sftp:user@host:/srv/repo');
  });

  it('latest narrowed by host, tag and path, each repeatable', () => {
    expect(parseResticLocation('restic:/r#latest,host=web1,tag=nightly,tag=z4j,path=/var/backups:/var/backups/x.db').filters).toEqual({
      host: ['web1'], tag: ['nightly', 'z4j'], path: ['/var/backups'],
    });
  });

  it('a # in the repository or the path stays where it belongs', () => {
    expect(parseResticLocation('restic:/srv/re#po#latest:/a#b.db')).toMatchObject({ repository: '/srv/re#po', snapshot: 'latest', path: '/a#b.db' });
  });

  it('pins a location to a snapshot so the manifest beside it is read from the same one', () => {
    const pinned = resticLocation('/srv/restic', 'f'.repeat(64), '/x.db');
    expect(parseResticLocation(`${pinned}.manifest.json`)).toMatchObject({ snapshot: 'f'.repeat(64), path: '/x.db.manifest.json' });
  });

  it('refuses what it cannot read unambiguously, saying the expected form', () => {
    for (const [bad, why] of [
      ['restic:/srv/restic', /no #SNAPSHOT/],
      ['restic:/srv/restic#latest', /no :\/PATH/],
      ['restic:/srv/restic#latest:relative.db', /no :\/PATH/],
      ['restic:/srv/restic#newest:/x.db', /neither latest nor a snapshot id/],
      ['restic:/srv/restic#abc:/x.db', /neither latest nor a snapshot id/],
      ['restic:/srv/restic#latest,owner=me:/x.db', /not host=, tag= or path=/],
      ['restic:/srv/restic#0a3366bd,host=web1:/x.db', /narrow latest only/],
      ['restic:/srv/restic#latest:/a/../etc/x.db', /\. or \.\. in the path/],
      ['restic:#latest:/x.db', /no repository before #SNAPSHOT/],
    ] as const) {
      expect(() => parseResticLocation(bad), bad).toThrow(why);
      expect(() => parseResticLocation(bad), bad).toThrow(/expected restic:REPOSITORY#SNAPSHOT:\/PATH/);
    }
  });
});

describe('display forms and the choice of source', () => {
  it('never prints a password, a secret parameter or a query string', () => {
    expect(new ResticSource().display('restic:rest:https://user:s3cr3t@backup.internal:8000/repo#latest:/x.db')).toBe('restic:rest:https://***@backup.internal:8000/repo#latest:/x.db');
    expect(new RcloneSource().display('rclone::s3,provider=Other,secret_access_key=s3cr3t,access_key_id=AK:bucket/x.db')).not.toContain('s3cr3t');
    expect(new S3Source().display('s3://bucket/x.db?X-Amz-Signature=abc')).toBe('s3://bucket/x.db?…');
    expect(new S3Source().display('s3://bucket/\u001b[2Jx.db')).toBe('s3://bucket/\\x1b[2Jx.db');
  });

  it('picks s3, restic and rclone by form, and leaves plain paths to the local-file source', () => {
    expect(sourceFor('s3://b/k')?.kind).toBe('s3');
    expect(sourceFor('restic:/r#latest:/x')?.kind).toBe('restic');
    expect(sourceFor('rclone:remote:x')?.kind).toBe('rclone');
    expect(sourceFor('/var/backups/x.db')).toBeUndefined();
    expect(sourceFor('backups/s3:thing.db')).toBeUndefined();
  });
});
