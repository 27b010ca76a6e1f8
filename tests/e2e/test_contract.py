"""The GraphQL contract other clients depend on: names, types, arguments and defaults."""

from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLObjectType,
    GraphQLSchema,
    Undefined,
    ast_from_value,
    build_schema,
    print_ast,
)

from adapters.inbound.graphql.schema import build_schema as served_schema
from tests import configs

# Copied from the issues that fix the contract (core, batches, export, portal, integrity,
# richer events, log streams), with the names issues 15 and 17 left to us (receipts; the
# fields beside a log stream's, `canStream`) as the README states them.
CONTRACT = """
scalar DateTime
scalar JSON

input ActorInput { id: String!  type: String!  name: String }
input TargetInput { id: String!  type: String!  name: String }
type Actor { id: String!  type: String!  name: String }
type Target { id: String!  type: String!  name: String }
enum AuditLogOrder { NEWEST_FIRST OLDEST_FIRST }

type AuditLogEntry { id: ID!  action: String!  email: String  success: Boolean!  reason: String
  application: String!  account: String!  createdAt: DateTime!  expiresAt: DateTime!
  ip: String  userAgent: String  requestId: String  digest: String!
  occurredAt: DateTime!  idempotencyKey: String  actor: Actor  targets: [Target!]!  metadata: JSON }
input AuditEventInput { application: String!  action: String!  success: Boolean!  email: String
  reason: String  ip: String  userAgent: String  requestId: String
  occurredAt: DateTime  idempotencyKey: String  actor: ActorInput  targets: [TargetInput!]
  metadata: JSON }
input AuditLogFilter { account: String  application: String  actions: [String!]  email: String
  success: Boolean  since: DateTime  until: DateTime
  actorId: String  targetId: String  targetType: String }
type PageInfo { hasNextPage: Boolean!  endCursor: String }
type AuditLogEdge { cursor: String!  node: AuditLogEntry! }
type AuditLogConnection { edges: [AuditLogEdge!]!  pageInfo: PageInfo! }
type Plan { name: String!  retentionDays: Int!  canDownload: Boolean!  canStream: Boolean! }
type Account { id: ID!  name: String!  plan: Plan! }
type Application { id: ID!  account: String!  name: String! }
enum Scope { RECORD READ EXPORT STREAM }
type ApiKey { id: ID!  account: String!  application: String  scopes: [Scope!]!  revoked: Boolean! }
type IssuedApiKey { apiKey: ApiKey!  secret: String! }
type IntegrityProblem { kind: String!  entryId: ID  window: DateTime  detail: String! }
type IntegrityReport { ok: Boolean!  windowsChecked: Int!  entriesVerified: Int!
  unsealedEntries: Int!  problems: [IntegrityProblem!]!  clock: String!  checkedAt: DateTime }
type Viewer { isOperator: Boolean!  account: Account  application: String  scopes: [Scope!]! }
type RecordAuditEventsResult { recorded: Int!  entries: [AuditLogEntry!]! }
enum ExportFormat { CSV NDJSON }
type AuditLogExport { url: String!  format: ExportFormat!  expiresAt: DateTime! }
type AuditLogProof { entry: AuditLogEntry!  leafIndex: Int!  leafCount: Int!  siblings: [String!]!
  sealId: String!  merkleRoot: String!  checkpointSequence: Int!  document: String! }

enum LogStreamKind { WEBHOOK SPLUNK_HEC SYSLOG }
enum LogStreamState { ACTIVE PAUSED FAILING DISABLED }
input LogStreamInput { name: String!  kind: LogStreamKind!  url: String!  token: String
  filter: AuditLogFilter }
type LogStream { id: ID!  account: String!  name: String!  kind: LogStreamKind!  url: String!
  state: LogStreamState!  deliveredThrough: DateTime  lagSeconds: Float  delivered: Int!
  failedAttempts: Int!  lastError: String
  createdAt: DateTime!  pausedReason: String  nextAttemptAt: DateTime  batchesDelivered: Int!
  expiredUndelivered: Int! }
type CreatedLogStream { logStream: LogStream!  signingSecret: String }

type Query {
  auditLogs(filter: AuditLogFilter, first: Int = 50, after: String,
    order: AuditLogOrder = NEWEST_FIRST): AuditLogConnection!
  plans: [Plan!]!
  exportAuditLogs(filter: AuditLogFilter, format: ExportFormat! = NDJSON): AuditLogExport!
  viewer: Viewer!
  verifyAuditLogs(account: ID, since: DateTime, until: DateTime): IntegrityReport!
  auditLogProof(id: ID!): AuditLogProof!
  logStreams(account: ID): [LogStream!]!
}
type Mutation {
  recordAuditEvent(input: AuditEventInput!): AuditLogEntry!
  recordAuditEvents(inputs: [AuditEventInput!]!): RecordAuditEventsResult!
  createAccount(id: ID!, name: String!, plan: String!): Account!
  changeAccountPlan(account: ID!, plan: String!): Account!
  createApplication(account: ID!, id: ID!, name: String!): Application!
  issueApiKey(account: ID!, application: ID, scopes: [Scope!]!): IssuedApiKey!
  revokeApiKey(id: ID!): ApiKey!
  createLogStream(account: ID!, input: LogStreamInput!): CreatedLogStream!
  pauseLogStream(id: ID!): LogStream!
  resumeLogStream(id: ID!): LogStream!
  deleteLogStream(id: ID!): LogStream!
  replayLogStream(id: ID!, since: DateTime!): LogStream!
  rotateLogStreamSecret(id: ID!): CreatedLogStream!
}
"""


def default(arg: GraphQLArgument) -> str | None:
    """The default as SDL text; `= null` on a nullable argument is the same as none."""
    if arg.ast_node is not None and arg.ast_node.default_value is not None:
        text = print_ast(arg.ast_node.default_value)
    elif arg.default_value is Undefined:
        return None
    else:
        node = ast_from_value(arg.default_value, arg.type)
        text = None if node is None else print_ast(node)
    return None if text == "null" else text


def shape(schema: GraphQLSchema, name: str) -> dict[str, object]:
    """A type's fields with their types, arguments and defaults, as comparable text."""
    kind = schema.type_map[name]
    if isinstance(kind, GraphQLEnumType):
        return {"values": sorted(kind.values)}
    assert isinstance(kind, GraphQLObjectType | GraphQLInputObjectType)
    fields: dict[str, object] = {}
    for field_name, field in kind.fields.items():
        args = getattr(field, "args", {})
        fields[field_name] = (
            str(field.type),
            [(a, str(arg.type), default(arg)) for a, arg in args.items()],
        )
    return fields


def test_every_contract_type_is_served_with_exactly_its_fields() -> None:
    contract = build_schema(CONTRACT)
    served = served_schema(configs.graphql_limits())._schema
    names = [n for n in contract.type_map if not n.startswith("__")]

    for name in names:
        if name in {"String", "Boolean", "Int", "ID", "Float", "DateTime", "JSON"}:
            assert name in served.type_map
            continue
        assert shape(served, name) == shape(contract, name), name


def test_no_mutation_updates_or_deletes_an_audit_entry() -> None:
    mutations = set(served_schema(configs.graphql_limits())._schema.type_map["Mutation"].fields)  # type: ignore[union-attr]

    assert mutations == {
        "recordAuditEvent",
        "recordAuditEvents",
        "createAccount",
        "changeAccountPlan",
        "createApplication",
        "issueApiKey",
        "revokeApiKey",
        # These change log streams (where entries are sent), never an entry.
        "createLogStream",
        "pauseLogStream",
        "resumeLogStream",
        "deleteLogStream",
        "replayLogStream",
        "rotateLogStreamSecret",
    }
