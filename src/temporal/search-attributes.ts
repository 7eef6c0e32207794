import type { Connection } from '@temporalio/client';
import type { Logger } from 'pino';
import type { SearchAttributeType } from '@temporalio/common';
// Not re-exported from the package index; @temporalio/testing imports it from the same path.
import type { SearchAttributeKey } from '@temporalio/common/lib/search-attributes';
import { SEARCH_ATTRIBUTE_KEYS } from '../shared/search-attributes';
import { SearchAttributeError } from './errors';

// Values of temporal.api.enums.v1.IndexedValueType (temporal/api/enums/v1/common.proto). Written out because
// @temporalio/proto is not a direct dependency; proto enum numbers never change.
const INDEXED_VALUE_TYPE: Record<SearchAttributeType, number> = {
  TEXT: 1,
  KEYWORD: 2,
  INT: 3,
  DOUBLE: 4,
  BOOL: 5,
  DATETIME: 6,
  KEYWORD_LIST: 7,
};

// How `temporal operator search-attribute create --type` spells each type.
const CLI_TYPE: Record<SearchAttributeType, string> = {
  TEXT: 'Text',
  KEYWORD: 'Keyword',
  INT: 'Int',
  DOUBLE: 'Double',
  BOOL: 'Bool',
  DATETIME: 'Datetime',
  KEYWORD_LIST: 'KeywordList',
};

// gRPC status ALREADY_EXISTS: another process registered the attribute between our list and add.
const GRPC_ALREADY_EXISTS = 6;
// gRPC status PERMISSION_DENIED: the credentials may run workflows but not use the OperatorService.
const GRPC_PERMISSION_DENIED = 7;

/**
 * Registers the custom search attributes a server lacks, for a server we did not start (TEMPORAL_ADDRESS
 * set and TEMPORAL_REGISTER_SEARCH_ATTRIBUTES=true). Lists what the namespace has and adds only the missing
 * keys, so it is cheap to call at every start and safe when several workers start at once. Returns the names
 * it added.
 * @throws SearchAttributeError `permission-denied` when the OperatorService refuses these credentials.
 * @see https://docs.temporal.io/self-hosted-guide/visibility#custom-search-attributes
 */
export async function ensureSearchAttributes(
  connection: Connection,
  namespace: string,
  keys: readonly SearchAttributeKey<SearchAttributeType>[] = SEARCH_ATTRIBUTE_KEYS,
): Promise<string[]> {
  const missing = await missingSearchAttributes(connection, namespace, keys);
  if (missing.length === 0) return [];

  // One at a time: a batch that hits ALREADY_EXISTS for one name (a racing worker) would drop the others.
  for (const key of missing) {
    try {
      await connection.operatorService.addSearchAttributes({
        namespace,
        searchAttributes: { [key.name]: INDEXED_VALUE_TYPE[key.type] },
      });
    } catch (err) {
      if ((err as { code?: unknown }).code === GRPC_ALREADY_EXISTS) continue;
      if (isPermissionDenied(err)) throw permissionDenied(namespace, err);
      throw new SearchAttributeError(
        'register-failed',
        `Could not register search attribute ${key.name} in namespace "${namespace}": ` +
          `${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
  }
  return missing.map((key) => key.name);
}

/**
 * The custom search attributes `namespace` lacks, by one list call; throws when one exists with another type.
 * @throws SearchAttributeError `permission-denied` when the OperatorService refuses these credentials, `type-conflict`.
 */
export async function missingSearchAttributes(
  connection: Connection,
  namespace: string,
  keys: readonly SearchAttributeKey<SearchAttributeType>[] = SEARCH_ATTRIBUTE_KEYS,
): Promise<SearchAttributeKey<SearchAttributeType>[]> {
  const listed = await connection.operatorService.listSearchAttributes({ namespace }).catch((err: unknown) => {
    throw isPermissionDenied(err) ? permissionDenied(namespace, err) : err;
  });
  const custom = listed.customAttributes ?? {};
  const system = listed.systemAttributes ?? {};
  const missing: SearchAttributeKey<SearchAttributeType>[] = [];
  for (const key of keys) {
    const existing = custom[key.name] ?? system[key.name];
    if (existing === undefined || existing === null) {
      missing.push(key);
    } else if (Number(existing) !== INDEXED_VALUE_TYPE[key.type]) {
      throw new SearchAttributeError(
        'type-conflict',
        `Search attribute ${key.name} exists in namespace "${namespace}" with another type than ${key.type}; ` +
          `remove it (temporal operator search-attribute remove --name ${key.name}) or rename ours.`,
      );
    }
  }
  return missing;
}

/**
 * For a server the service did not start and must not change (Temporal Cloud manages search attributes with tcld
 * and refuses the OperatorService's add): checks the attributes exist and warns, naming the missing ones and the
 * commands that create them, since task workflows cannot start without them. Returns the missing names; a refused
 * or failed list is a warning too (the credentials may run workflows without reading the namespace's schema).
 */
export async function checkSearchAttributes(connection: Connection, namespace: string, log: Logger): Promise<string[]> {
  let missing: SearchAttributeKey<SearchAttributeType>[];
  try {
    missing = await missingSearchAttributes(connection, namespace);
  } catch (err) {
    if (err instanceof SearchAttributeError && err.code === 'type-conflict') throw err;
    log.warn({ err, namespace }, 'Could not check the custom search attributes; task workflows cannot start if they are missing.');
    return [];
  }
  if (missing.length === 0) return [];
  const names = missing.map((key) => key.name);
  const create = missing.map((key) => `--name ${key.name} --type ${CLI_TYPE[key.type]}`);
  log.error(
    { namespace, missing: names },
    `Namespace "${namespace}" lacks the custom search attributes ${names.join(', ')}: task workflows cannot start until they exist. ` +
      `Create them (temporal operator search-attribute create ${create.join(' ')}; on Temporal Cloud: tcld namespace search-attributes add), ` +
      'or set TEMPORAL_REGISTER_SEARCH_ATTRIBUTES=true on a self-hosted server to let the service add them.',
  );
  return names;
}

/**
 * {@link ensureSearchAttributes} for a service starting against a server it did not start, when asked to
 * (TEMPORAL_REGISTER_SEARCH_ATTRIBUTES=true): credentials without OperatorService rights get a warning instead of
 * a crash, since an admin may have created the attributes already. Returns the names it added.
 */
export async function registerSearchAttributes(connection: Connection, namespace: string, log: Logger): Promise<string[]> {
  try {
    const added = await ensureSearchAttributes(connection, namespace);
    if (added.length > 0) log.info({ added, namespace }, 'registered custom search attributes');
    return added;
  } catch (err) {
    if (!(err instanceof SearchAttributeError && err.code === 'permission-denied')) throw err;
    log.warn({ err, namespace }, `${err.message} Starting anyway: task workflows cannot start until the attributes exist.`);
    return [];
  }
}

function isPermissionDenied(err: unknown): boolean {
  return (err as { code?: unknown } | undefined)?.code === GRPC_PERMISSION_DENIED;
}

function permissionDenied(namespace: string, cause: unknown): SearchAttributeError {
  return new SearchAttributeError(
    'permission-denied',
    `The server refused to list or register search attributes in namespace "${namespace}" (permission denied); ` +
      `create them with an admin's credentials (temporal operator search-attribute create, or tcld on Temporal Cloud).`,
    { cause },
  );
}
