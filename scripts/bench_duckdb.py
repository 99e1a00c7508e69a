"""The DuckDB peer for scripts/bench.sh: read the simulated S3-delivery corpus with
read_json and run a detection query equivalent to a rule pack indexed by event name
(an event-name allow-list plus the few field conditions that have no event name)."""
import sys

import duckdb

corpus = sys.argv[1]
con = duckdb.connect()
con.execute("SET threads TO 2")
query = f"""
WITH records AS (
  SELECT unnest(Records) AS r
  FROM read_json('{corpus}/**/*.json.gz', format='auto', maximum_object_size=1073741824,
                 union_by_name=true)
)
SELECT r.eventSource, r.eventName, count(*) FROM records
WHERE r.eventName IN (
  'StopLogging','DeleteTrail','UpdateTrail','PutEventSelectors','CreateUser','CreateAccessKey',
  'AttachUserPolicy','CreateLoginProfile','UpdateLoginProfile','DeleteDetector','StopConfigurationRecorder',
  'DeleteFlowLogs','DeleteResolverQueryLogConfig','ModifySnapshotAttribute','ModifyImageAttribute',
  'ModifyDBSnapshotAttribute','PutBucketPolicy','PutBucketAcl','DeleteBucketPublicAccessBlock',
  'AuthorizeSecurityGroupIngress','RunInstances','ImportKeyPair','ScheduleKeyDeletion','DisableKey',
  'LeaveOrganization','GetFederationToken','ConsoleLogin','CreateApplication','CreatePlugin',
  'CreateRetriever','CreateDataSource','DeleteModelInvocationLoggingConfiguration','GetSecretValue',
  'PutBucketVersioning','DeleteObjects','SendCommand','ModifyInstanceAttribute','DisableSecurityHub')
  OR r.userIdentity.type = 'Root'
  OR r.errorCode IN ('AccessDenied', 'Client.UnauthorizedOperation')
  OR contains(lower(r.userAgent), 'trufflehog')
GROUP BY ALL
"""
rows = con.execute(query).fetchall()
print(sum(r[2] for r in rows))
