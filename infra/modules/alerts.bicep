// What a cutover watches (docs/CUTOVER.md), as alert rules wired to one
// action group: 5xx rate, p95 latency, failed function invocations, failed
// scoring (Durable orchestrations and scoring runs), dead-lettered Event Grid
// deliveries, and a standard availability test of /api/health/ready from three
// locations, the database pooler refusing clients (connection budget
// exceeded); and what costs or throttles (issue 24): the app's own pool
// exhausted (503), model 429s, calls refused by an organisation's budget, and
// the day's estimated model spend. Every description says what to do first;
// docs/OPERATIONS.md has the longer runbook. The log queries
// read the Application Insights tables every Functions host fills, so they
// hold for both hosting options. They rely on host.json keeping successful
// requests ("Host.Results": "Information"): with "Error", the requests table
// holds failures only and every rate below would read 100 %.

@description('Application Insights component name (same resource group).')
param appInsightsName string

@description('Azure region of the availability test (Application Insights region).')
param location string

@description('Tags for the resources.')
param tags object = {}

@description('E-mail address that receives the alerts; empty creates the rules without notifications.')
param alertEmail string = ''

@description('URL the availability test calls (the app\'s readiness route, /api/health/ready).')
param healthUrl string

@description('Event Grid system topic of ACS events (dead-letter alert).')
param systemTopicName string

@description('Alert when more than this percentage of HTTP requests answer 5xx over 15 minutes.')
@minValue(1)
@maxValue(100)
param serverErrorPercent int = 5

@description('Alert when the 95th percentile of HTTP request duration exceeds this many milliseconds over 15 minutes (streaming and waiting routes excluded).')
@minValue(100)
param p95LatencyMs int = 3000

@description('Alert when more than this many function invocations fail in 15 minutes.')
@minValue(0)
param failedInvocations int = 5

@description('Alert when the model provider throttles (HTTP 429) more than this many calls in 15 minutes.')
@minValue(0)
param modelThrottledCalls int = 5

@description('Alert when the estimated model spend (talenti.ai.cost, all organisations) exceeds this many USD in 24 hours.')
@minValue(1)
param aiDailyCostUsd int = 50

var actionGroups = empty(alertEmail) ? [] : [
  actionGroup.id
]

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource systemTopic 'Microsoft.EventGrid/systemTopics@2022-06-15' existing = {
  name: systemTopicName
}

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = if (!empty(alertEmail)) {
  name: 'ag-${appInsightsName}'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'talenti'
    enabled: true
    emailReceivers: [
      {
        name: 'operators'
        emailAddress: alertEmail
        useCommonAlertSchema: true
      }
    ]
  }
}

// Routes that hold a request open by design: the SSE stream and
// POST /api/ai/score (waits up to SCORE_WAIT_SECONDS for the scores).
var latencyQuery = '''
requests
| where isnotempty(url)
| extend path = tostring(parse_url(url).Path)
| where not(path endswith "/ai/interviewer/stream") and not(path endswith "/ai/score")
| summarize p95 = percentile(duration, 95)
'''

var errorRateQuery = '''
requests
| where isnotempty(url)
| summarize total = count(), failed = countif(toint(resultCode) >= 500)
| where total >= 20
| extend percent = 100.0 * failed / total
'''

var failedInvocationQuery = '''
requests
| where success == false
'''

// The Supabase pooler refusing a client (Supavisor's max-clients errors,
// PgBouncer's max_client_conn, Postgres' own "too many clients"): the
// connection budget (docs/DEPLOYMENT.md) was exceeded in practice. The app
// logs the driver's error text in traces and exceptions.
var poolerLimitQuery = '''
union traces, exceptions
| extend text = strcat(tostring(message), " ", tostring(outerMessage), " ", tostring(innermostMessage))
| where text contains "max client connections" or text contains "max_client_conn" or text contains "EMAXCONN" or text contains "max clients reached" or text contains "too many clients"
'''

// The app's own connection pool gave up waiting (it answered 503 "Database
// unavailable"): counted by talenti.db.pool.exhausted. Not the pooler above:
// that one is Supabase refusing a new client.
var poolExhaustedQuery = '''
customMetrics
| where name == "talenti.db.pool.exhausted"
| summarize exhausted = sum(valueSum)
'''

// Scoring failed: a Durable orchestration in state Failed (Durable's
// tracking events, one trace per orchestration state change), or a scoring run the app measured with outcome=failed
// (talenti.scoring.run.duration), which also covers runs the orchestrator
// ended itself.
var scoringFailureQuery = '''
union
  (traces
   | where customDimensions.Category == "Host.Triggers.DurableTask"
   | where customDimensions["prop__functionType"] == "Orchestrator" and customDimensions["prop__state"] == "Failed"
   | extend failures = 1.0),
  (customMetrics
   | where name == "talenti.scoring.run.duration" and tostring(customDimensions["outcome"]) == "failed"
   | extend failures = todouble(valueCount))
| summarize failures = sum(failures)
'''

// Model throttling: the model call's dependency answered 429, or the app
// measured a call with outcome rate_limited (talenti.ai.call.duration), or
// (before the metric) its ai.call log line with the SDK's RateLimitError.
var modelThrottledQuery = '''
union
  (dependencies
   | where resultCode == "429" and (target has "openai" or data has "chat/completions")
   | extend throttled = todouble(itemCount)),
  (customMetrics
   | where name == "talenti.ai.call.duration" and tostring(customDimensions["outcome"]) in ("rate_limited", "RateLimitError")
   | extend throttled = todouble(valueCount)),
  (traces
   | where message has "ai.call" and message has "RateLimitError"
   | extend throttled = 1.0)
| summarize throttled = sum(throttled)
'''

// An organisation's monthly budget refused a model call (402 "Usage limit").
var budgetRefusedQuery = '''
customMetrics
| where name == "talenti.ai.budget.refused"
| summarize refused = sum(valueSum)
'''

// Estimated model spend over the rule's 24-hour window, all organisations.
var dailyCostQuery = '''
customMetrics
| where name == "talenti.ai.cost"
| summarize usd = sum(valueSum)
'''

var logAlerts = [
  {
    name: 'http-5xx-rate'
    description: 'More than ${serverErrorPercent} % of HTTP requests answered 5xx (15 minutes, at least 20 requests). Do: open the workbook\'s "5xx answers per endpoint", then the failing requests\' traces by x-request-id (docs/OPERATIONS.md); a 503 "Database unavailable" points at the pool, one naming the model at the provider.'
    severity: 1
    query: errorRateQuery
    timeAggregation: 'Maximum'
    metricMeasureColumn: 'percent'
    threshold: serverErrorPercent
    windowSize: 'PT15M'
    evaluationFrequency: 'PT5M'
  }
  {
    name: 'http-p95-latency'
    description: 'p95 HTTP request duration above ${p95LatencyMs} ms (15 minutes; SSE and score waits excluded). Do: find the slow endpoint in the workbook, open a slow request\'s end-to-end trace and see which dependency (database, model, ACS, Speech) took the time.'
    severity: 2
    query: latencyQuery
    timeAggregation: 'Maximum'
    metricMeasureColumn: 'p95'
    threshold: p95LatencyMs
    windowSize: 'PT15M'
    evaluationFrequency: 'PT5M'
  }
  {
    name: 'function-failures'
    description: 'More than ${failedInvocations} failed function invocations (HTTP, timer, Event Grid, activities) in 15 minutes. Do: group the failed requests by name, read their exceptions (same operation_Id) and act on the first cause.'
    severity: 2
    query: failedInvocationQuery
    timeAggregation: 'Count'
    metricMeasureColumn: ''
    threshold: failedInvocations
    windowSize: 'PT15M'
    evaluationFrequency: 'PT5M'
  }
  {
    name: 'durable-orchestration-failures'
    description: 'Interview scoring failed: a Durable orchestration failed or a scoring run ended with outcome=failed (talenti.scoring.run.duration). Do: open the run\'s trace (docs/OPERATIONS.md, "A failed scoring"), read the decision log for the interview (GET /api/reports/ai-decisions), fix the cause, then POST /api/ai/score again.'
    severity: 1
    query: scoringFailureQuery
    timeAggregation: 'Total'
    metricMeasureColumn: 'failures'
    threshold: 0
    windowSize: 'PT15M'
    evaluationFrequency: 'PT5M'
  }
  {
    name: 'db-pooler-max-clients'
    description: 'The Supabase pooler refused a connection (max client connections): the connection budget is exceeded. Do: lower dbPoolMax or the instance/replica counts, or raise the Supabase tier with dbPoolerMaxClientConnections (docs/DEPLOYMENT.md, connection budget).'
    severity: 1
    query: poolerLimitQuery
    timeAggregation: 'Count'
    metricMeasureColumn: ''
    threshold: 0
    windowSize: 'PT15M'
    evaluationFrequency: 'PT5M'
  }
  {
    name: 'db-pool-exhausted'
    description: 'The app\'s database pool was exhausted: requests waited for a connection and were answered 503 Database unavailable (talenti.db.pool.exhausted). Do: look at "Waiting for a pooled connection" in the workbook and the slowest PostgreSQL dependencies; raise dbPoolMax within the connection budget or fix the slow statements.'
    severity: 2
    query: poolExhaustedQuery
    timeAggregation: 'Total'
    metricMeasureColumn: 'exhausted'
    threshold: 0
    windowSize: 'PT15M'
    evaluationFrequency: 'PT5M'
  }
  {
    name: 'ai-model-throttled'
    description: 'The model provider throttled more than ${modelThrottledCalls} calls (HTTP 429) in 15 minutes. Do: compare tokens per minute in the workbook with the deployment\'s quota; raise openAiCapacity (Azure OpenAI) or the provider\'s limit, or find the organisation or purpose driving the burst.'
    severity: 2
    query: modelThrottledQuery
    timeAggregation: 'Total'
    metricMeasureColumn: 'throttled'
    threshold: modelThrottledCalls
    windowSize: 'PT15M'
    evaluationFrequency: 'PT5M'
  }
  {
    name: 'ai-budget-refused'
    description: 'An organisation\'s monthly AI budget refused a model call (402 Usage limit, talenti.ai.budget.refused). Do: find the organisation in the workbook, check its spend with GET /api/reports/ai-usage, and agree with its owner to raise the budget or wait for the next month.'
    severity: 3
    query: budgetRefusedQuery
    timeAggregation: 'Total'
    metricMeasureColumn: 'refused'
    threshold: 0
    windowSize: 'PT15M'
    evaluationFrequency: 'PT5M'
  }
  {
    name: 'ai-daily-cost'
    description: 'Estimated model spend (talenti.ai.cost, all organisations) exceeded ${aiDailyCostUsd} USD in 24 hours. Do: see "Estimated cost per organisation and purpose" in the workbook, confirm with GET /api/reports/ai-usage, and set or lower that organisation\'s monthly budget if the spend is not expected.'
    severity: 2
    query: dailyCostQuery
    timeAggregation: 'Total'
    metricMeasureColumn: 'usd'
    threshold: aiDailyCostUsd
    windowSize: 'P1D'
    evaluationFrequency: 'PT1H'
  }
]

resource logAlertRules 'Microsoft.Insights/scheduledQueryRules@2022-06-15' = [for rule in logAlerts: {
  name: '${rule.name}-${appInsightsName}'
  location: location
  tags: tags
  properties: {
    displayName: rule.name
    description: rule.description
    severity: rule.severity
    enabled: true
    scopes: [
      appInsights.id
    ]
    evaluationFrequency: rule.evaluationFrequency
    windowSize: rule.windowSize
    autoMitigate: true
    criteria: {
      allOf: [
        {
          query: rule.query
          timeAggregation: rule.timeAggregation
          metricMeasureColumn: empty(rule.metricMeasureColumn) ? null : rule.metricMeasureColumn
          operator: 'GreaterThan'
          threshold: rule.threshold
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: {
      actionGroups: actionGroups
    }
  }
}]

resource deadLetterAlert 'Microsoft.Insights/metricAlerts@2018-03-01' = {
  name: 'eventgrid-dead-letters-${systemTopicName}'
  location: 'global'
  tags: tags
  properties: {
    description: 'ACS events were dead-lettered: Event Grid gave up delivering them to the function app. Do: read the blobs in the eventgrid-deadletter container (deadLetterReason), fix the cause, and replay them (docs/OPERATIONS.md, "Missing call events").'
    severity: 1
    enabled: true
    scopes: [
      systemTopic.id
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    autoMitigate: true
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          criterionType: 'StaticThresholdCriterion'
          name: 'dead-lettered'
          metricNamespace: 'Microsoft.EventGrid/systemTopics'
          metricName: 'DeadLetteredCount'
          timeAggregation: 'Total'
          operator: 'GreaterThan'
          threshold: 0
        }
      ]
    }
    actions: [for id in actionGroups: {
      actionGroupId: id
    }]
  }
}

resource availabilityTest 'Microsoft.Insights/webtests@2022-06-15' = {
  name: 'health-${appInsightsName}'
  location: location
  // The hidden-link tag ties the test to its component (required).
  tags: union(tags, {
    'hidden-link:${appInsights.id}': 'Resource'
  })
  kind: 'standard'
  properties: {
    SyntheticMonitorId: 'health-${appInsightsName}'
    Name: 'GET /api/health/ready'
    Description: 'The API answers 200 from outside Azure\'s network.'
    Enabled: true
    Frequency: 300
    Timeout: 30
    Kind: 'standard'
    RetryEnabled: true
    Locations: [
      {
        Id: 'emea-au-syd-edge'
      }
      {
        Id: 'apac-sg-sin-azr'
      }
      {
        Id: 'apac-hk-hkn-azr'
      }
    ]
    Request: {
      RequestUrl: healthUrl
      HttpVerb: 'GET'
      ParseDependentRequests: false
    }
    ValidationRules: {
      ExpectedHttpStatusCode: 200
      SSLCheck: true
      SSLCertRemainingLifetimeCheck: 7
    }
  }
}

resource availabilityAlert 'Microsoft.Insights/metricAlerts@2018-03-01' = {
  name: 'health-availability-${appInsightsName}'
  location: 'global'
  tags: tags
  properties: {
    description: 'GET /api/health/ready failed from at least two locations (the database or storage unreachable, or the app down). Do: call /api/health/ready yourself; its body names the failing check (look for health.not_ready in traces), then check the app\'s state in the portal.'
    severity: 1
    enabled: true
    scopes: [
      availabilityTest.id
      appInsights.id
    ]
    evaluationFrequency: 'PT1M'
    windowSize: 'PT5M'
    autoMitigate: true
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.WebtestLocationAvailabilityCriteria'
      webTestId: availabilityTest.id
      componentId: appInsights.id
      failedLocationCount: 2
    }
    actions: [for id in actionGroups: {
      actionGroupId: id
    }]
  }
}

output actionGroupId string = empty(alertEmail) ? '' : actionGroup.id
output availabilityTestId string = availabilityTest.id
