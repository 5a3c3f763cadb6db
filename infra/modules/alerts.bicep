// What a cutover watches (docs/CUTOVER.md), as alert rules wired to one
// action group: 5xx rate, p95 latency, failed function invocations, failed
// Durable orchestrations, dead-lettered Event Grid deliveries, and a standard
// availability test of /api/health/ready from three locations, and the
// database pooler refusing clients (connection budget exceeded). The log queries
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

// Durable's tracking events: one trace per orchestration state change.
var failedOrchestrationQuery = '''
traces
| where customDimensions.Category == "Host.Triggers.DurableTask"
| where customDimensions["prop__functionType"] == "Orchestrator" and customDimensions["prop__state"] == "Failed"
'''

var logAlerts = [
  {
    name: 'http-5xx-rate'
    description: 'More than ${serverErrorPercent} % of HTTP requests answered 5xx (15 minutes, at least 20 requests).'
    severity: 1
    query: errorRateQuery
    timeAggregation: 'Maximum'
    metricMeasureColumn: 'percent'
    threshold: serverErrorPercent
  }
  {
    name: 'http-p95-latency'
    description: 'p95 HTTP request duration above ${p95LatencyMs} ms (15 minutes; SSE and score waits excluded).'
    severity: 2
    query: latencyQuery
    timeAggregation: 'Maximum'
    metricMeasureColumn: 'p95'
    threshold: p95LatencyMs
  }
  {
    name: 'function-failures'
    description: 'More than ${failedInvocations} failed function invocations (HTTP, timer, Event Grid, activities) in 15 minutes.'
    severity: 2
    query: failedInvocationQuery
    timeAggregation: 'Count'
    metricMeasureColumn: ''
    threshold: failedInvocations
  }
  {
    name: 'durable-orchestration-failures'
    description: 'A Durable orchestration (interview scoring) failed.'
    severity: 1
    query: failedOrchestrationQuery
    timeAggregation: 'Count'
    metricMeasureColumn: ''
    threshold: 0
  }
  {
    name: 'db-pooler-max-clients'
    description: 'The Supabase pooler refused a connection (max client connections): the connection budget is exceeded.'
    severity: 1
    query: poolerLimitQuery
    timeAggregation: 'Count'
    metricMeasureColumn: ''
    threshold: 0
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
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
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
    description: 'ACS events were dead-lettered: Event Grid gave up delivering them to the function app (see the eventgrid-deadletter container).'
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
    description: 'GET /api/health/ready failed from at least two locations (the database or storage unreachable, or the app down).'
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
