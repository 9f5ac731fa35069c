-- infisical.sql: the Infisical database of bruno, the production
-- server before the move (sandbox seed).
--
-- Loaded at sandbox-up into bruno's infisical-postgres container:
--   docker exec -i infisical-postgres psql -v ON_ERROR_STOP=1 \
--       -U infisical -d infisical < infisical.sql
-- It is shaped like a self-hosted Infisical's database (knex
-- migrations, users, organisations, projects, environments, folders,
-- encrypted secrets with their versions, machine identities, audit
-- logs) and holds what makes a dump and restore go wrong when it is
-- done carelessly: quotes, newlines, backslashes and non-ASCII text,
-- json and jsonb, bytea, arrays, inet, time zones, serial and bigserial
-- sequences, foreign keys, a view and a trigger.  The data is made up;
-- the "encrypted" values are digests, not secrets.

\set ON_ERROR_STOP 1
SET client_encoding = 'UTF8';
SET TIME ZONE 'Europe/Berlin';

BEGIN;

CREATE TABLE knex_migrations (
    id serial PRIMARY KEY,
    name varchar(255),
    batch integer,
    migration_time timestamptz
);

CREATE TABLE knex_migrations_lock (
    index serial PRIMARY KEY,
    is_locked integer
);

CREATE TABLE super_admin (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    initialized boolean NOT NULL DEFAULT false,
    allow_signup boolean NOT NULL DEFAULT true,
    allowed_signup_domain text,
    instance_id uuid NOT NULL DEFAULT gen_random_uuid(),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email text UNIQUE,
    username text NOT NULL UNIQUE,
    first_name text,
    last_name text,
    auth_methods text[] NOT NULL DEFAULT '{email}',
    is_accepted boolean NOT NULL DEFAULT false,
    is_mfa_enabled boolean NOT NULL DEFAULT false,
    super_admin boolean NOT NULL DEFAULT false,
    is_email_verified boolean NOT NULL DEFAULT false,
    devices jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE user_encryption_keys (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    client_public_key text NOT NULL,
    public_key text NOT NULL,
    encrypted_private_key text NOT NULL,
    iv text NOT NULL,
    tag text NOT NULL,
    salt text NOT NULL,
    verifier text NOT NULL,
    encryption_version integer NOT NULL DEFAULT 2,
    hashed_password text
);

CREATE TABLE organizations (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name text NOT NULL,
    slug text NOT NULL UNIQUE,
    customer_id text,
    auth_enforced boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE org_memberships (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    role text NOT NULL,
    status text NOT NULL DEFAULT 'invited',
    invite_email text,
    user_id uuid REFERENCES users (id) ON DELETE CASCADE,
    org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE projects (
    id text PRIMARY KEY,
    name text NOT NULL,
    slug text NOT NULL,
    auto_capitalization boolean NOT NULL DEFAULT true,
    org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    version integer NOT NULL DEFAULT 3,
    description text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (org_id, slug)
);

CREATE TABLE project_environments (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name text NOT NULL,
    slug text NOT NULL,
    position integer NOT NULL,
    project_id text NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (project_id, slug)
);

CREATE TABLE project_memberships (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    project_id text NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    role text NOT NULL DEFAULT 'member',
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE secret_folders (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name varchar(255) NOT NULL,
    version integer DEFAULT 1,
    env_id uuid NOT NULL REFERENCES project_environments (id)
        ON DELETE CASCADE,
    parent_id uuid REFERENCES secret_folders (id) ON DELETE CASCADE,
    is_reserved boolean DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE secrets_v2 (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    version integer NOT NULL DEFAULT 1,
    type text NOT NULL DEFAULT 'shared',
    key varchar(500) NOT NULL,
    encrypted_value bytea,
    encrypted_comment bytea,
    reminder_note varchar(1024),
    reminder_repeat_days integer,
    skip_multiline_encoding boolean DEFAULT false,
    metadata jsonb,
    user_id uuid REFERENCES users (id) ON DELETE CASCADE,
    folder_id uuid NOT NULL REFERENCES secret_folders (id)
        ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX secrets_v2_folder_id_key_index ON secrets_v2 (folder_id, key);

CREATE TABLE secret_versions_v2 (
    id bigserial PRIMARY KEY,
    version integer NOT NULL,
    type text NOT NULL DEFAULT 'shared',
    key varchar(500) NOT NULL,
    encrypted_value bytea,
    skip_multiline_encoding boolean DEFAULT false,
    secret_id uuid NOT NULL REFERENCES secrets_v2 (id) ON DELETE CASCADE,
    folder_id uuid NOT NULL REFERENCES secret_folders (id)
        ON DELETE CASCADE,
    actor_user_id uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE identities (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name text NOT NULL,
    auth_method text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE identity_universal_auths (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    client_id text NOT NULL UNIQUE,
    access_token_ttl bigint NOT NULL DEFAULT 7200,
    access_token_max_ttl bigint NOT NULL DEFAULT 7200,
    access_token_num_uses_limit bigint NOT NULL DEFAULT 0,
    client_secret_trusted_ips jsonb NOT NULL,
    access_token_trusted_ips jsonb NOT NULL,
    identity_id uuid NOT NULL UNIQUE REFERENCES identities (id)
        ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE identity_ua_client_secrets (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    description text NOT NULL,
    client_secret_prefix text NOT NULL,
    client_secret_hash text NOT NULL,
    client_secret_last_used_at timestamptz,
    client_secret_num_uses bigint NOT NULL DEFAULT 0,
    client_secret_ttl bigint NOT NULL DEFAULT 0,
    is_client_secret_revoked boolean NOT NULL DEFAULT false,
    identity_ua_id uuid NOT NULL REFERENCES identity_universal_auths (id)
        ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE audit_logs (
    id bigserial PRIMARY KEY,
    actor text NOT NULL,
    actor_metadata jsonb NOT NULL,
    ip_address inet,
    event_type text NOT NULL,
    event_metadata jsonb,
    user_agent text,
    user_agent_type text,
    expires_at timestamptz,
    org_id uuid REFERENCES organizations (id) ON DELETE CASCADE,
    project_id text REFERENCES projects (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX audit_logs_project_created ON audit_logs (project_id,
                                                        created_at);

CREATE TABLE webhooks (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    secret_path text NOT NULL DEFAULT '/',
    url_cipher_text text NOT NULL,
    url_iv text NOT NULL,
    url_tag text NOT NULL,
    is_disabled boolean NOT NULL DEFAULT false,
    last_status text,
    last_run_error_message text,
    env_id uuid NOT NULL REFERENCES project_environments (id)
        ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Infisical keeps updated_at current with a trigger on most tables.
CREATE FUNCTION on_update_timestamp() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at = now();
    RETURN NEW;
END;
$$;

CREATE TRIGGER secrets_v2_updated_at BEFORE UPDATE ON secrets_v2
    FOR EACH ROW EXECUTE FUNCTION on_update_timestamp();

CREATE VIEW secrets_per_environment AS
    SELECT p.slug AS project, e.slug AS environment, count(s.id) AS secrets
    FROM projects p
    JOIN project_environments e ON e.project_id = p.id
    JOIN secret_folders f ON f.env_id = e.id
    LEFT JOIN secrets_v2 s ON s.folder_id = f.id
    GROUP BY p.slug, e.slug;

-- The migration history, as knex leaves it.
INSERT INTO knex_migrations (name, batch, migration_time)
SELECT format('2024%s%s_%s.ts', lpad((1 + n / 4)::text, 2, '0'),
              lpad((1 + n * 7 % 28)::text, 2, '0'), step),
       1 + n / 6,
       timestamptz '2024-01-04 09:12:00+00' + n * interval '9 days 3 hours'
FROM unnest(ARRAY[
    'init', 'user', 'user-encryption-key', 'auth-token', 'auth-token-session',
    'backup-key', 'super-admin', 'org', 'org-bot', 'org-membership',
    'incident-contact', 'project', 'project-environment', 'project-bot',
    'project-membership', 'project-key', 'secret-folder', 'secret-import',
    'secret-tag', 'secret', 'secret-version', 'identity',
    'identity-universal-auth', 'identity-access-token', 'webhooks',
    'audit-log', 'secret-v2', 'secret-version-v2', 'audit-log-indexes'
]) WITH ORDINALITY AS t(step, n);

INSERT INTO knex_migrations_lock (is_locked) VALUES (0);

INSERT INTO super_admin (id, initialized, allow_signup,
                         allowed_signup_domain, instance_id, created_at,
                         updated_at)
VALUES ('8f0a2c4e-1b3d-4e5f-9a7b-6c8d0e2f4a61', true, false,
        'kua.cl', 'c1f0e2d3-4b5a-4697-8a1b-2c3d4e5f6071',
        '2024-01-04 09:20:11.482+00', '2025-06-30 17:45:02.118+00');

INSERT INTO users (id, email, username, first_name, last_name,
                   auth_methods, is_accepted, is_mfa_enabled, super_admin,
                   is_email_verified, devices, created_at, updated_at)
VALUES
 ('0b7f7a5e-2d1c-4c8e-9f3a-5e6d7c8b9a01', 'kavi@kua.cl', 'kavi@kua.cl',
  'Kavi', 'Ramírez', '{email,google}', true, true, true, true,
  '[{"ip": "188.34.198.57", "userAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15"}]',
  '2024-01-04 09:21:40.913+00', '2025-11-02 08:03:19.004+01'),
 ('1c8e8b6f-3e2d-4d9f-8a4b-6f7e8d9c0b12', 'zoe.obrien@kua.cl',
  'zoe.obrien@kua.cl', 'Zoë', 'O''Brien', '{email}', true, false, false,
  true, '[]', '2024-03-18 14:02:55.120+00', '2025-09-14 21:47:30.551+02'),
 ('2d9f9c70-4f3e-4ea0-9b5c-70f8e9d0a1c3', 'jose.muller@kua.cl',
  'jose.muller@kua.cl', 'José', 'Müller-Łukasiewicz', '{email,github}',
  true, false, false, true, NULL,
  '2024-07-01 07:30:00+00', '2025-10-20 12:00:00+00'),
 ('3ea0ad81-5a4f-4fb1-8c6d-81a9f0e1b2d4', 'ci-bot@kua.cl',
  'ci-bot@kua.cl', 'CI', E'Bot \\ "robot"', '{email}', false, false,
  false, false, NULL, '2025-02-11 10:10:10+00', '2025-02-11 10:10:10+00');

INSERT INTO user_encryption_keys (user_id, client_public_key, public_key,
                                  encrypted_private_key, iv, tag, salt,
                                  verifier, hashed_password)
SELECT id,
       encode(sha256(convert_to('cpk' || email, 'UTF8')), 'base64'),
       encode(sha256(convert_to('pk' || email, 'UTF8')), 'base64'),
       encode(sha256(convert_to('epk' || email, 'UTF8')), 'base64')
           || encode(sha256(convert_to('epk2' || email, 'UTF8')), 'base64'),
       encode(substring(sha256(convert_to('iv' || email, 'UTF8')) FROM 1
                        FOR 12), 'base64'),
       encode(substring(sha256(convert_to('tag' || email, 'UTF8')) FROM 1
                        FOR 16), 'base64'),
       md5('salt' || email),
       encode(sha256(convert_to('verifier' || email, 'UTF8')), 'hex'),
       '$2b$10$' || substring(encode(sha256(convert_to(email, 'UTF8')),
                                     'base64') FROM 1 FOR 53)
FROM users;

INSERT INTO organizations (id, name, slug, customer_id, created_at,
                           updated_at)
VALUES ('5b7c8d9e-0f1a-4b2c-8d3e-4f5a6b7c8d91', 'Kua', 'kua-x7k2',
        'cus_Pq3rS4tU5vW6xY', '2024-01-04 09:22:03+00',
        '2025-01-15 16:30:00+00'),
       ('6c8d9eaf-1a2b-4c3d-9e4f-5a6b7c8d9ea2', E'Side \u201cprojects\u201d',
        'side-projects-q91m', NULL, '2024-09-09 19:00:00+00',
        '2024-09-09 19:00:00+00');

INSERT INTO org_memberships (role, status, user_id, org_id, created_at)
SELECT CASE WHEN u.super_admin THEN 'admin' ELSE 'member' END,
       CASE WHEN u.is_accepted THEN 'accepted' ELSE 'invited' END,
       u.id, o.id, greatest(u.created_at, o.created_at)
FROM users u CROSS JOIN organizations o
WHERE o.slug = 'kua-x7k2' OR u.username = 'kavi@kua.cl';

INSERT INTO projects (id, name, slug, org_id, description, created_at,
                      updated_at)
VALUES
 ('7d9eafb0-2b3c-4d4e-8f5a-6b7c8d9eafb3', 'coder-core', 'coder-core-3f9a',
  '5b7c8d9e-0f1a-4b2c-8d3e-4f5a6b7c8d91',
  E'Production services of coder-core.\nSecrets for bruno and its successor.',
  '2024-01-04 09:25:00+00', '2025-11-01 10:00:00+00'),
 ('8eafb0c1-3c4d-4e5f-9a6b-7c8d9eafb0c4', 'marketing site',
  'marketing-site-b2c1', '5b7c8d9e-0f1a-4b2c-8d3e-4f5a6b7c8d91',
  'It''s the "www" one.', '2024-05-20 11:11:11+00',
  '2025-03-03 03:03:03+00'),
 ('9fb0c1d2-4d5e-4f6a-8b7c-8d9eafb0c1d5', 'ñandú', 'nandu-77aa',
  '6c8d9eaf-1a2b-4c3d-9e4f-5a6b7c8d9ea2', NULL,
  '2024-09-09 19:05:00+00', '2024-09-09 19:05:00+00');

INSERT INTO project_environments (name, slug, position, project_id,
                                  created_at)
SELECT e.name, e.slug, e.pos, p.id, p.created_at + interval '1 minute'
FROM projects p
CROSS JOIN (VALUES ('Development', 'dev', 1), ('Staging', 'staging', 2),
                   ('Production', 'prod', 3)) AS e(name, slug, pos);

INSERT INTO project_memberships (user_id, project_id, role, created_at)
SELECT m.user_id, p.id,
       CASE WHEN m.role = 'admin' THEN 'admin' ELSE 'member' END,
       p.created_at + interval '2 minutes'
FROM org_memberships m JOIN projects p ON p.org_id = m.org_id
WHERE m.user_id IS NOT NULL;

-- A root folder per environment, and a few nested ones.
INSERT INTO secret_folders (name, env_id, is_reserved, created_at)
SELECT 'root', id, false, created_at FROM project_environments;

INSERT INTO secret_folders (name, env_id, parent_id, created_at)
SELECT f.name, r.env_id, r.id, r.created_at + interval '1 day'
FROM secret_folders r
JOIN project_environments e ON e.id = r.env_id
CROSS JOIN (VALUES ('storage'), ('ci'), ('legacy')) AS f(name)
WHERE r.name = 'root' AND e.slug IN ('prod', 'staging');

-- The runbook's secrets in coder-core/prod, then the other
-- environments and folders.  encrypted_value looks like Infisical's
-- AES-GCM blobs: a version byte, 12 bytes of IV, ciphertext, tag.
CREATE TEMPORARY TABLE seed_keys (key text, pos integer, multiline boolean,
                                  comment text);
INSERT INTO seed_keys VALUES
 ('SSH_KEYS_ACTIVE_DEVICES', 1, false, 'comma separated: MACMINI,MACBOOKPRO'),
 ('SSH_KEY_MACMINI_PUBLIC', 2, false, NULL),
 ('SSH_KEY_MACMINI_STATUS', 3, false, NULL),
 ('SSH_KEY_MACBOOKPRO_PUBLIC', 4, false, NULL),
 ('SSH_KEY_MACBOOKPRO_STATUS', 5, false, NULL),
 ('HETZNER_API_TOKEN', 6, false, 'project "coder-core", read & write'),
 ('CLOUDFLARE_API_TOKEN', 7, false, 'zone kua.cl: DNS edit, cache purge'),
 ('S3_ACCESS_KEY', 8, false, NULL),
 ('S3_SECRET_KEY', 9, false, NULL),
 ('S3_ENDPOINT', 10, false, NULL),
 ('S3_REGION', 11, false, NULL),
 ('S3_BUCKET', 12, false, NULL),
 ('STORAGE_BOX_SSH_PRIVATE_KEY', 13, true,
  E'OpenSSH key\nrotate with the storage box'),
 ('ENCRYPTION_KEY', 14, false, NULL),
 ('AUTH_SECRET', 15, false, NULL),
 ('POSTGRES_USER', 16, false, NULL),
 ('POSTGRES_PASSWORD', 17, false, E'has a quote (\u2019) and a $ in it'),
 ('POSTGRES_DB', 18, false, NULL),
 ('REDIS_PASSWORD', 19, false, NULL),
 ('IMGPROXY_KEY', 20, false, NULL),
 ('IMGPROXY_SALT', 21, false, NULL);

INSERT INTO secrets_v2 (id, version, key, encrypted_value, encrypted_comment,
                        skip_multiline_encoding, metadata, folder_id,
                        created_at, updated_at)
SELECT md5(f.id::text || k.key)::uuid,
       1 + (k.pos + e.position) % 4,
       k.key,
       '\x02'::bytea
           || sha256(convert_to(f.id::text || k.key || 'iv', 'UTF8'))
           || sha256(convert_to(f.id::text || k.key || 'ct', 'UTF8'))
           || substring(md5(k.key)::bytea FROM 1 FOR 16),
       CASE WHEN k.comment IS NULL THEN NULL
            ELSE '\x02'::bytea || convert_to(md5(k.comment), 'UTF8') END,
       k.multiline,
       jsonb_build_object('rotated', k.pos % 3 = 0, 'owner', 'kavi',
                          'tags', jsonb_build_array('runbook', e.slug)),
       f.id,
       e.created_at + k.pos * interval '2 hours',
       e.created_at + k.pos * interval '2 hours' + interval '91 days'
FROM seed_keys k
JOIN project_environments e ON true
JOIN projects p ON p.id = e.project_id
JOIN secret_folders f ON f.env_id = e.id AND f.name = 'root'
WHERE p.slug = 'coder-core-3f9a' OR k.pos <= 6;

INSERT INTO secrets_v2 (key, encrypted_value, folder_id, type, user_id,
                        created_at)
SELECT upper(f.name) || '_' || s.suffix,
       '\x02'::bytea || sha256(convert_to(f.id::text || s.suffix, 'UTF8')),
       f.id,
       CASE WHEN s.suffix = 'PERSONAL_NOTE' THEN 'personal' ELSE 'shared'
       END,
       CASE WHEN s.suffix = 'PERSONAL_NOTE'
            THEN '1c8e8b6f-3e2d-4d9f-8a4b-6f7e8d9c0b12'::uuid END,
       f.created_at + interval '3 hours'
FROM secret_folders f
CROSS JOIN (VALUES ('URL'), ('TOKEN'), ('PERSONAL_NOTE')) AS s(suffix)
WHERE f.name <> 'root';

INSERT INTO secret_versions_v2 (version, type, key, encrypted_value,
                                skip_multiline_encoding, secret_id,
                                folder_id, actor_user_id, created_at)
SELECT v, s.type, s.key,
       '\x02'::bytea || sha256(convert_to(s.id::text || v, 'UTF8')),
       s.skip_multiline_encoding, s.id, s.folder_id,
       '0b7f7a5e-2d1c-4c8e-9f3a-5e6d7c8b9a01',
       s.created_at + (v - 1) * interval '30 days'
FROM secrets_v2 s CROSS JOIN generate_series(1, 4) AS v
WHERE v <= s.version;

INSERT INTO identities (id, name, auth_method, created_at, updated_at)
VALUES ('a0c1d2e3-5e6f-4a7b-9c8d-9eafb0c1d2e6', 'bruno deploy',
        'universal-auth', '2024-02-02 12:00:00+00',
        '2025-08-08 08:08:08+00');

INSERT INTO identity_universal_auths (id, client_id,
                                      client_secret_trusted_ips,
                                      access_token_trusted_ips,
                                      identity_id, created_at)
VALUES ('b1d2e3f4-6f7a-4b8c-8d9e-afb0c1d2e3f7',
        '4d6f1c2a-8b3e-4f5d-9a7c-1e2b3c4d5e6f',
        '[{"type": "ipv4", "prefix": 0, "ipAddress": "0.0.0.0"}]',
        '[{"type": "ipv4", "prefix": 0, "ipAddress": "0.0.0.0"},
          {"type": "ipv6", "prefix": 0, "ipAddress": "::"}]',
        'a0c1d2e3-5e6f-4a7b-9c8d-9eafb0c1d2e6', '2024-02-02 12:01:00+00');

INSERT INTO identity_ua_client_secrets (description, client_secret_prefix,
                                        client_secret_hash,
                                        client_secret_last_used_at,
                                        client_secret_num_uses,
                                        identity_ua_id, created_at)
VALUES ('ansible deploy-services.yml', 'f3a9',
        '$2b$10$Wm0nE0vLrE5y7y3yD9rT4eQpQk8pR1m3e0u3m5q7w9y1a3c5e7g9i',
        '2025-11-02 07:59:58.731+00', 412,
        'b1d2e3f4-6f7a-4b8c-8d9e-afb0c1d2e3f7', '2024-02-02 12:02:00+00'),
       (E'old laptop \u2014 revoked', '09be',
        '$2b$10$Xn1oF1wMsF6z8z4zE0sU5fRqRl9qS2n4f1v4n6r8x0z2b4d6f8h0j',
        NULL, 0, 'b1d2e3f4-6f7a-4b8c-8d9e-afb0c1d2e3f7',
        '2024-02-03 09:00:00+00');

INSERT INTO webhooks (url_cipher_text, url_iv, url_tag, last_status,
                      last_run_error_message, env_id)
SELECT encode(sha256(convert_to('https://hooks.kua.cl/' || slug, 'UTF8')),
              'base64'),
       md5(slug || 'iv'), md5(slug || 'tag'),
       CASE WHEN position = 3 THEN 'failed' ELSE 'success' END,
       CASE WHEN position = 3
            THEN E'Post "https://hooks.kua.cl/prod": context deadline '
                 'exceeded\n(Client.Timeout exceeded while awaiting headers)'
       END,
       id
FROM project_environments
WHERE project_id = '7d9eafb0-2b3c-4d4e-8f5a-6b7c8d9eafb3';

-- Audit logs: reads, writes and logins over three months.
INSERT INTO audit_logs (actor, actor_metadata, ip_address, event_type,
                        event_metadata, user_agent, user_agent_type,
                        expires_at, org_id, project_id, created_at)
SELECT CASE WHEN n % 3 = 0 THEN 'identity' ELSE 'user' END,
       CASE WHEN n % 3 = 0
            THEN jsonb_build_object('identityId',
                                    'a0c1d2e3-5e6f-4a7b-9c8d-9eafb0c1d2e6',
                                    'name', 'bruno deploy')
            ELSE jsonb_build_object('userId', u.id, 'email', u.email,
                                    'name', u.first_name || ' '
                                            || u.last_name)
       END,
       CASE WHEN n % 3 = 0 THEN inet '188.34.198.57'
            WHEN n % 7 = 0 THEN inet '2a01:4f8:c012:3456::1'
            ELSE ('203.0.113.' || (n % 250 + 1))::inet END,
       ev.type,
       jsonb_build_object(
           'environment', (ARRAY['dev', 'staging', 'prod'])[1 + n % 3],
           'secretPath', (ARRAY['/', '/storage', '/ci'])[1 + n % 3],
           'secretKey', k.key,
           'secretVersion', 1 + n % 4,
           'note', CASE WHEN n % 11 = 0
                        THEN E'rotated after "incident" #' || n
                             || E'\nsee runbook §6 \u2192 restore'
                   END),
       CASE WHEN n % 3 = 0 THEN 'infisical-cli/0.31.1'
            WHEN n % 5 = 0 THEN 'terraform-provider-infisical/0.12.3'
            ELSE 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101'
                 || ' Firefox/128.0' END,
       CASE WHEN n % 3 = 0 THEN 'cli' WHEN n % 5 = 0 THEN 'other'
            ELSE 'web' END,
       timestamptz '2025-08-01 00:00:00+00' + n * interval '11 hours'
           + interval '90 days',
       '5b7c8d9e-0f1a-4b2c-8d3e-4f5a6b7c8d91',
       '7d9eafb0-2b3c-4d4e-8f5a-6b7c8d9eafb3',
       timestamptz '2025-08-01 00:00:00+00' + n * interval '11 hours'
           + (n * 37 % 3600) * interval '1 second'
FROM generate_series(1, 220) AS n
JOIN users u ON u.username = (ARRAY['kavi@kua.cl', 'zoe.obrien@kua.cl',
                                    'jose.muller@kua.cl'])[1 + n % 3]
JOIN seed_keys k ON k.pos = 1 + n % 21
CROSS JOIN LATERAL (SELECT (ARRAY['get-secrets', 'get-secret',
                                  'update-secret', 'create-secret',
                                  'login-identity-universal-auth',
                                  'delete-secret'])[1 + n % 6] AS type) ev;

COMMIT;

ANALYZE;
