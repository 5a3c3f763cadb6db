// Talenti backend: one Python 3.11 Azure Functions app with everything it
// talks to, hosted either on Flex Consumption (code package, the default) or
// on Azure Container Apps (the image built from the Dockerfile), chosen by
// `hosting` (azd: HOSTING=flex|containerapps). Both options share every other
// module, the identity, the settings and the Key Vault secrets. Deployed per
// environment (dev, prod) with azd (infra/main.parameters.json, values from
// the azd environment) or `az deployment sub create`
// (infra/main.parameters.<env>.json), see docs/DEPLOYMENT.md.
//
// Identity model: one user-assigned managed identity (UAMI) for the app.
//   host storage       Storage Blob Data Owner, Queue Data Contributor,
//                      Table Data Contributor (+ optional Account Contributor)
//   recordings storage Storage Blob Data Contributor
//   Key Vault          Key Vault Secrets User (app-setting references)
//   App Insights       Monitoring Metrics Publisher (Entra ingestion)
//   Azure OpenAI       Cognitive Services OpenAI User (when deployOpenAI)
//   Container Registry AcrPull (Container Apps hosting)
//   ACS                Contributor on the ACS resource only (ACS_ENDPOINT, no connection string)
// and a second UAMI for Speech only, attached to the app next to the first:
//   Speech             Cognitive Services Speech User on the Speech account, nothing else.
//                      Its Entra token goes to browsers (aad#<resource id>#<token>) and
//                      its audience is every Azure AI resource: from the app identity it
//                      would open Azure OpenAI to any signed-in member.
// Secrets live only in Key Vault; app settings hold references.
//
// Two stages (parameter `stage`), both idempotent, run in this order by
// infra/scripts/provision.sh and the azd hooks:
//   bootstrap  resource group, identities, monitoring, storage, Key Vault (and
//              its operator group), registry, ACS, Speech, OpenAI: every
//              identity and every role assignment, no app. Then the secrets
//              are seeded and the role assignments given time to propagate
//              (microsoft/azure-container-apps#930, #1174).
//   app        the same, plus the function app (Flex or Container Apps), the
//              alerts and the operations workbook: the app is created only once
//              the secrets it reads exist and its identity may read them.
targetScope = 'subscription'

// ---------------------------------------------------------------- general

@description('azd environment name (e.g. talenti-dev); used in resource names.')
@minLength(1)
@maxLength(40)
param environmentName string

@description('Region for every regional resource.')
param location string = 'australiaeast'

@description('Kind of environment, for tags only. The app itself always runs with APP_ENV=production in Azure: its development mode falls back to public development secrets.')
@allowed([
  'dev'
  'staging'
  'prod'
])
param environmentType string = 'dev'

@description('Resource group to create or update; empty for rg-<environmentName>.')
param resourceGroupName string = ''

@description('Operator (deploying user or CI principal) that manages Key Vault secrets; empty to skip.')
param principalId string = ''

@description('Object id of the Entra group of operators: Key Vault Secrets Officer on the vault (seeds and rotates secrets). Put the deploying service principal in this group too. Empty only for throwaway environments.')
param operatorGroupObjectId string = ''

@description('bootstrap: identities, vault, registry and every role assignment, no app. app: everything (run after bootstrap and the secret seeding).')
@allowed([
  'bootstrap'
  'app'
])
param stage string = 'app'

@description('Kind of principalId.')
@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param principalType string = 'User'

@description('Where the function app runs: flex (Flex Consumption, code package) or containerapps (Azure Functions on Azure Container Apps, image from the Dockerfile).')
@allowed([
  'flex'
  'containerapps'
])
param hosting string = 'flex'

@description('E-mail address for alerts (action group); empty creates the alert rules without notifications.')
param alertEmail string = ''

@description('Alert when the estimated model spend (talenti.ai.cost, all organisations) exceeds this many USD in 24 hours.')
@minValue(1)
param aiDailyCostAlertUsd int = 50

// ---------------------------------------------------------------- sizing

@description('Replication of both storage accounts.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param storageSku string = 'Standard_ZRS'

@description('Log Analytics retention in days.')
@minValue(30)
@maxValue(730)
param logRetentionDays int = 30

@description('Flex Consumption: most on-demand instances per function group (the platform accepts 1 to 1000; always-ready instances come on top). Bounded in practice by the connection budget.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 5

@description('Flex Consumption: function groups that scale out on their own instances, each up to maximumInstanceCount (http, durable, and one per other trigger: acs_events, the retention timer).')
@minValue(1)
@maxValue(20)
param flexScaleGroups int = 4

@description('Flex Consumption: memory per instance (MB).')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Flex Consumption: concurrent HTTP requests per instance.')
@minValue(1)
@maxValue(1000)
param httpPerInstanceConcurrency int = 16

@description('Flex Consumption: always-ready HTTP instances (0 = scale to zero).')
@minValue(0)
@maxValue(20)
param alwaysReadyHttpInstances int = 0

@description('Flex Consumption: always-ready instances for the durable group (orchestrations, activities). Microsoft recommends at least 1 with Durable Functions.')
@minValue(0)
@maxValue(20)
param alwaysReadyDurableInstances int = 1

@description('Flex Consumption: spread instances over availability zones (needs ZRS storage; the template raises every always-ready group to at least two instances).')
param zoneRedundant bool = false

@description('Container Apps: image to run (<registry>/talenti-api:<tag>); empty runs a placeholder until CI or azd pushes the first image.')
param containerImage string = ''

@description('Container Apps: replicas always running (at least 1: Durable on Azure Storage does not scale from zero there).')
@minValue(1)
@maxValue(30)
param containerMinReplicas int = 1

@description('Container Apps: most replicas (times dbPoolMax must stay under the Supabase pooler client limit).')
@minValue(1)
@maxValue(300)
param containerMaxReplicas int = 10

@description('Container Apps: vCPU per replica.')
@allowed([
  '0.5'
  '1.0'
  '2.0'
])
param containerCpu string = '1.0'

@description('Container Apps: memory per replica (2 x vCPU).')
@allowed([
  '1Gi'
  '2Gi'
  '4Gi'
])
param containerMemory string = '2Gi'

@description('Container Registry tier (Container Apps hosting).')
@allowed([
  'Basic'
  'Standard'
  'Premium'
])
param registrySku string = 'Basic'

@description('Days a deleted recording blob stays recoverable (0 = off).')
@minValue(0)
@maxValue(365)
param recordingsSoftDeleteDays int = 7

@description('Also grant Storage Account Contributor on the host account (only for Durable storage setups that manage the account; the data roles suffice otherwise).')
param grantStorageAccountContributor bool = false

// ---------------------------------------------------------------- app settings

@description('Comma-separated browser origins allowed to call the API, no spaces (platform CORS and CORS_ALLOWED_ORIGINS).')
param corsAllowedOrigins string = ''

@description('SUPABASE_URL, e.g. https://<project>.supabase.co')
param supabaseUrl string

@description('SITE_URL of the frontend (invitation links).')
param siteUrl string

@description('EMAIL_FROM for invitation emails.')
param emailFrom string = 'Talenti <no-reply@talenti.app>'

@description('AI_BASE_URL of an OpenAI-compatible provider (when deployOpenAI is false).')
param aiBaseUrl string = 'https://api.openai.com/v1'

@description('AI_MODEL for the interviewer and extraction.')
param aiModel string = 'gpt-4o-mini'

@description('AI_SCORING_MODEL for interview scoring.')
param aiScoringModel string = 'gpt-4o'

@description('Where CVs are read from.')
@allowed([
  'supabase'
  'blob'
])
param cvStorage string = 'supabase'

@description('CV_BUCKET: Supabase Storage bucket, or blob container when cvStorage is blob.')
param cvBucket string = 'cvs'

@description('RECORDINGS_CONTAINER in the recordings account.')
param recordingsContainer string = 'recordings'

@description('RETENTION_SCHEDULE (NCRONTAB, six fields, UTC).')
param retentionSchedule string = '0 0 17 * * *'

@description('AUTO_SCORE_ON_CALL_END.')
param autoScoreOnCallEnd bool = true

@description('DB_POOL_MAX (and DB_POOL_MIN): database connections per instance. Counted in the connection budget.')
@minValue(1)
@maxValue(50)
param dbPoolMax int = 5

// ---------------------------------------------------------------- connection budget
// Every connection the app can open, plus the migration job and the Edge
// Functions still running during the cutover, must fit the Supabase
// pooler's client-connection limit for the project's compute tier (table in
// docs/DEPLOYMENT.md). scripts/check_connection_budget.py applies the same
// rule to the parameter files in CI; the template refuses it as well.

@description('Client-connection limit of the Supabase pooler for the project\'s compute tier (Nano/Micro 200, Small 400, Medium 600, Large 800, XL 1000, ...).')
@minValue(1)
param dbPoolerMaxClientConnections int = 200

@description('Connections the migration job holds (one: a transaction-scoped advisory lock on its own connection).')
@minValue(0)
@maxValue(10)
param migrationConnections int = 1

@description('Connections reserved for the Supabase Edge Functions still serving during the cutover (0 after it).')
@minValue(0)
param edgeFunctionsReserveConnections int = 40

@description('SCORE_WAIT_SECONDS: how long POST /api/ai/score waits before answering 202.')
@minValue(0)
@maxValue(200)
param scoreWaitSeconds int = 25

// ---------------------------------------------------------------- services

@description('ACS data location.')
param acsDataLocation string = 'Australia'

@description('Create a Speech account, reached by Entra ID with the Speech identity (no key); false uses an existing one: speechRegion plus either speechEndpoint and speechResourceId (Entra ID) or azureSpeechKey.')
param deploySpeech bool = true

@description('Speech pricing tier when deploySpeech.')
@allowed([
  'F0'
  'S0'
])
param speechSku string = 'S0'

@description('Region of an existing Speech account (when deploySpeech is false).')
param speechRegion string = 'australiaeast'

@description('Existing Speech account (deploySpeech false), Entra ID path: its custom-subdomain endpoint, https://<name>.cognitiveservices.azure.com. Empty uses azureSpeechKey.')
param speechEndpoint string = ''

@description('Existing Speech account (deploySpeech false), Entra ID path: its resource id. The Speech identity needs Cognitive Services Speech User on it, granted by an operator (docs/DEPLOYMENT.md). Empty uses azureSpeechKey.')
param speechResourceId string = ''

@description('Create Azure OpenAI and use it through the managed identity instead of AI_API_KEY.')
param deployOpenAI bool = false

@description('Azure OpenAI region.')
param openAiLocation string = 'australiaeast'

@description('Azure OpenAI model.')
param openAiModelName string = 'gpt-4o-mini'

@description('Azure OpenAI model version.')
param openAiModelVersion string = '2024-07-18'

@description('AZURE_OPENAI_DEPLOYMENT.')
param openAiDeploymentName string = 'chat'

@description('AZURE_OPENAI_API_VERSION.')
param openAiApiVersion string = '2024-10-21'

@description('Azure OpenAI capacity (thousands of tokens per minute).')
@minValue(1)
param openAiCapacity int = 30

@description('Reference SUPABASE_JWT_SECRET (legacy HS256 projects). Set false for projects signing with asymmetric keys (JWKS), so that no unresolvable reference is ever read as a signing secret.')
param supabaseJwtSecretEnabled bool = true

@description('Reference ACS_WEBHOOK_SECRET_PREVIOUS (during a webhook secret rotation only).')
param acsWebhookSecretPreviousActive bool = false

// ---------------------------------------------------------------- secrets
// Written to Key Vault when non-empty. Leave empty to keep the vault's
// current value (rotate with az keyvault secret set, see docs/DEPLOYMENT.md).

@secure()
@description('DATABASE_URL: Supabase pooler URI, port 6543 (transaction mode).')
param databaseUrl string = ''

@secure()
@description('SUPABASE_JWT_SECRET (legacy HS256 projects).')
param supabaseJwtSecret string = ''

@secure()
@description('SUPABASE_SERVICE_ROLE_KEY.')
param supabaseServiceRoleKey string = ''

@secure()
@description('SERVICE_API_KEY for x-service-key callers.')
param serviceApiKey string = ''

@secure()
@description('AI_API_KEY of the OpenAI-compatible provider.')
param aiApiKey string = ''

@secure()
@description('ACS_WEBHOOK_SECRET.')
param acsWebhookSecret string = ''

@secure()
@description('ACS_WEBHOOK_SECRET_PREVIOUS (rotation only).')
param acsWebhookSecretPrevious string = ''

@secure()
@description('RESEND_API_KEY.')
param resendApiKey string = ''

@secure()
@description('AZURE_SPEECH_KEY of an existing Speech account (when deploySpeech is false).')
param azureSpeechKey string = ''

// ---------------------------------------------------------------- names

var token = toLower(uniqueString(subscription().id, environmentName, location))
var rgName = empty(resourceGroupName) ? 'rg-${environmentName}' : resourceGroupName
var tags = {
  'azd-env-name': environmentName
  application: 'talenti-backend'
  environment: environmentType
}
var names = {
  identity: 'id-talenti-${token}'
  speechIdentity: 'id-speech-talenti-${token}'
  logAnalytics: 'log-talenti-${token}'
  appInsights: 'appi-talenti-${token}'
  hostStorage: 'stfn${token}'
  dataStorage: 'strec${token}'
  keyVault: 'kv-talenti-${take(token, 10)}'
  acs: 'acs-talenti-${token}'
  systemTopic: 'evgt-acs-talenti-${token}'
  speech: 'spch-talenti-${token}'
  openAi: 'oai-talenti-${token}'
  plan: 'plan-talenti-${token}'
  functionApp: 'func-talenti-${token}'
  registry: 'crtalenti${token}'
  containerEnvironment: 'cae-talenti-${token}'
  containerApp: 'ca-talenti-${token}'
}
var deploymentContainer = 'app-package'
var deadLetterContainer = 'eventgrid-deadletter'
var isFlex = hosting == 'flex'
var corsOrigins = empty(corsAllowedOrigins) ? [] : split(corsAllowedOrigins, ',')

var isApp = stage == 'app'
// Speech by Entra ID for our own account, and for an existing one named by its
// endpoint and resource id; else the existing account's key.
var speechByEntra = deploySpeech || (!empty(speechEndpoint) && !empty(speechResourceId))

// Always-ready instances are not capped by maximumInstanceCount; zone
// redundancy raises each always-ready group to two (modules/functionapp.bicep).
var zoneMinimum = zoneRedundant ? 2 : 0
var flexInstances = maximumInstanceCount * flexScaleGroups + max(alwaysReadyHttpInstances, zoneMinimum) + max(alwaysReadyDurableInstances, zoneMinimum)
var appConnections = dbPoolMax * (isFlex ? flexInstances : containerMaxReplicas)
var budgetedConnections = appConnections + migrationConnections + edgeFunctionsReserveConnections
// Bicep has no assertion that fails a deployment (Azure/bicep#2405; the
// `assert` keyword is experimental). int() of a text fails the deployment
// with that text in the error, and ARM evaluates only the branch of if()
// its condition picks, so this fails exactly when the budget is exceeded.
var budgetError = 'Connection budget exceeded: ${budgetedConnections} connections (app ${appConnections} + migrations ${migrationConnections} + Edge Functions ${edgeFunctionsReserveConnections}) > pooler limit ${dbPoolerMaxClientConnections}. Lower dbPoolMax or the instance/replica counts, or raise dbPoolerMaxClientConnections with the Supabase tier.'
var checkedConnections = budgetedConnections <= dbPoolerMaxClientConnections ? budgetedConnections : int(budgetError)
var checkedPoolMax = budgetedConnections <= dbPoolerMaxClientConnections ? dbPoolMax : int(budgetError)

var roleBlobDataOwner = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
var roleBlobDataContributor = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
var roleQueueDataContributor = '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
var roleTableDataContributor = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
var roleStorageAccountContributor = '17d1049b-9a84-46fb-8f53-869881c3d3ab'

// ---------------------------------------------------------------- resources

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: rgName
  location: location
  tags: tags
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: names.identity
    location: location
    tags: tags
  }
}

// Speech only: browsers receive its tokens, so its one role is on Speech.
module speechIdentity 'modules/identity.bicep' = {
  name: 'speech-identity'
  scope: rg
  params: {
    name: names.speechIdentity
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: names.logAnalytics
    appInsightsName: names.appInsights
    location: location
    tags: tags
    retentionInDays: logRetentionDays
    appPrincipalId: identity.outputs.principalId
  }
}

var hostRoles = [
  {
    principalId: identity.outputs.principalId
    roleDefinitionId: roleBlobDataOwner
  }
  {
    principalId: identity.outputs.principalId
    roleDefinitionId: roleQueueDataContributor
  }
  {
    principalId: identity.outputs.principalId
    roleDefinitionId: roleTableDataContributor
  }
]
var hostAccountRole = grantStorageAccountContributor ? [
  {
    principalId: identity.outputs.principalId
    roleDefinitionId: roleStorageAccountContributor
  }
] : []

module hostStorage 'modules/storage.bicep' = {
  name: 'host-storage'
  scope: rg
  params: {
    name: names.hostStorage
    location: location
    tags: tags
    skuName: storageSku
    containers: [
      deploymentContainer
      deadLetterContainer
    ]
    deleteRetentionDays: 7
    roleAssignments: concat(hostRoles, hostAccountRole)
  }
}

var dataContainers = cvStorage == 'blob' ? [
  recordingsContainer
  cvBucket
] : [
  recordingsContainer
]

module dataStorage 'modules/storage.bicep' = {
  name: 'data-storage'
  scope: rg
  params: {
    name: names.dataStorage
    location: location
    tags: tags
    skuName: storageSku
    containers: dataContainers
    deleteRetentionDays: recordingsSoftDeleteDays
    roleAssignments: [
      {
        principalId: identity.outputs.principalId
        roleDefinitionId: roleBlobDataContributor
      }
    ]
  }
}

// ACS (app identity) and Speech (Speech identity) are reached by Entra ID:
// their connection string and key are no secrets of ours any more (an
// existing Speech account not named by speechResourceId keeps its key).
var appSecrets = {
  'database-url': databaseUrl
  'supabase-jwt-secret': supabaseJwtSecret
  'supabase-service-role-key': supabaseServiceRoleKey
  'service-api-key': serviceApiKey
  'ai-api-key': aiApiKey
  'acs-webhook-secret': acsWebhookSecret
  'acs-webhook-secret-previous': acsWebhookSecretPrevious
  'resend-api-key': resendApiKey
  'azure-speech-key': speechByEntra ? '' : azureSpeechKey
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'key-vault'
  scope: rg
  params: {
    name: names.keyVault
    location: location
    tags: tags
    appPrincipalId: identity.outputs.principalId
    adminPrincipalId: principalId
    adminPrincipalType: principalType
    operatorGroupId: operatorGroupObjectId
    logAnalyticsWorkspaceId: monitoring.outputs.workspaceId
    secrets: appSecrets
  }
}

module communication 'modules/communication.bicep' = {
  name: 'communication'
  scope: rg
  params: {
    name: names.acs
    systemTopicName: names.systemTopic
    dataLocation: acsDataLocation
    tags: tags
    appPrincipalId: identity.outputs.principalId
    deadLetterStorageName: hostStorage.outputs.name
    deadLetterContainerName: deadLetterContainer
  }
}

module speech 'modules/speech.bicep' = if (deploySpeech) {
  name: 'speech'
  scope: rg
  params: {
    name: names.speech
    location: location
    tags: tags
    skuName: speechSku
    speechPrincipalId: speechIdentity.outputs.principalId
  }
}

module openAi 'modules/openai.bicep' = if (deployOpenAI) {
  name: 'openai'
  scope: rg
  params: {
    name: names.openAi
    location: openAiLocation
    tags: tags
    deploymentName: openAiDeploymentName
    modelName: openAiModelName
    modelVersion: openAiModelVersion
    capacity: openAiCapacity
    appPrincipalId: identity.outputs.principalId
  }
}

// ---------------------------------------------------------------- settings
// One set of settings for both hosting options.

var plainSettings = {
  APP_ENV: 'production'
  // A full pool from the start: DB_POOL_MIN below the maximum gave 503s at
  // ramp-up in the load test, and the budget counts the maximum anyway.
  DB_POOL_MAX: string(checkedPoolMax)
  DB_POOL_MIN: string(checkedPoolMax)
  SUPABASE_URL: supabaseUrl
  SITE_URL: siteUrl
  EMAIL_FROM: emailFrom
  AI_MODEL: aiModel
  AI_SCORING_MODEL: aiScoringModel
  CV_STORAGE: cvStorage
  CV_BUCKET: cvBucket
  RECORDINGS_ACCOUNT_URL: dataStorage.outputs.blobEndpoint
  RECORDINGS_CONTAINER: recordingsContainer
  RETENTION_SCHEDULE: retentionSchedule
  AUTO_SCORE_ON_CALL_END: autoScoreOnCallEnd ? 'true' : 'false'
  SCORE_WAIT_SECONDS: string(scoreWaitSeconds)
  CORS_ALLOWED_ORIGINS: corsAllowedOrigins
  AZURE_SPEECH_REGION: deploySpeech ? location : speechRegion
  ACS_ENDPOINT: communication.outputs.endpoint
}

// Speech through Entra ID: the custom-subdomain endpoint, the resource id
// (the browser SDK's token is aad#<resource id>#<token>) and the client id of
// the Speech identity whose token the app asks for.
var speechSettings = speechByEntra ? {
  AZURE_SPEECH_ENDPOINT: deploySpeech ? speech.outputs.endpoint : speechEndpoint
  AZURE_SPEECH_RESOURCE_ID: deploySpeech ? speech.outputs.id : speechResourceId
  AZURE_SPEECH_CLIENT_ID: speechIdentity.outputs.clientId
} : {}

// The Functions host: identity-based AzureWebJobsStorage (host state and the
// Durable task hub), Entra-authenticated Application Insights ingestion.
var hostSettings = {
  AzureWebJobsStorage__accountName: hostStorage.outputs.name
  AzureWebJobsStorage__blobServiceUri: hostStorage.outputs.blobEndpoint
  AzureWebJobsStorage__queueServiceUri: hostStorage.outputs.queueEndpoint
  AzureWebJobsStorage__tableServiceUri: hostStorage.outputs.tableEndpoint
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identity.outputs.clientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: monitoring.outputs.connectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identity.outputs.clientId};Authorization=AAD'
  // The app's own traces and metrics (issue 24) go to the same component:
  // telemetry is off unless configured, and in Azure it is configured.
  TELEMETRY_EXPORTER: 'azure'
  // The Python worker's OpenTelemetry support (with host.json telemetryMode): the host's
  // invocation span becomes the current one, so the app's spans are its children
  // (learn.microsoft.com/azure/azure-functions/opentelemetry-howto; checked by the validate stage's deploy).
  PYTHON_ENABLE_OPENTELEMETRY: 'true'
  AZURE_CLIENT_ID: identity.outputs.clientId
  PYTHON_ENABLE_INIT_INDEXING: '1'
}

// App setting -> Key Vault secret. Flex turns each into a versionless
// @Microsoft.KeyVault(SecretUri=<vault>secrets/<name>/) reference; Container
// Apps into a Key Vault-backed secret. Both resolve with the app identity.
var secretSettings = {
  DATABASE_URL: 'database-url'
  SUPABASE_SERVICE_ROLE_KEY: 'supabase-service-role-key'
  SERVICE_API_KEY: 'service-api-key'
  ACS_WEBHOOK_SECRET: 'acs-webhook-secret'
  RESEND_API_KEY: 'resend-api-key'
}

var speechKeySetting = speechByEntra ? {} : {
  AZURE_SPEECH_KEY: 'azure-speech-key'
}

var jwtSecretSetting = supabaseJwtSecretEnabled ? {
  SUPABASE_JWT_SECRET: 'supabase-jwt-secret'
} : {}

var previousSecretSetting = acsWebhookSecretPreviousActive ? {
  ACS_WEBHOOK_SECRET_PREVIOUS: 'acs-webhook-secret-previous'
} : {}

var aiSettings = deployOpenAI ? {
  AZURE_OPENAI_ENDPOINT: openAi.outputs.endpoint
  AZURE_OPENAI_DEPLOYMENT: openAiDeploymentName
  AZURE_OPENAI_API_VERSION: openAiApiVersion
} : {
  AI_BASE_URL: aiBaseUrl
}

var aiSecretSetting = deployOpenAI ? {} : {
  AI_API_KEY: 'ai-api-key'
}

var appSettings = union(plainSettings, hostSettings, aiSettings, speechSettings)
var keyVaultSecrets = union(secretSettings, jwtSecretSetting, previousSecretSetting, aiSecretSetting, speechKeySetting)
var appTags = union(tags, {
  'azd-service-name': 'api'
})

// ---------------------------------------------------------------- hosting: Flex Consumption

module functionApp 'modules/functionapp.bicep' = if (isApp && isFlex) {
  name: 'function-app'
  scope: rg
  dependsOn: [
    communication
    speech
  ]
  params: {
    name: names.functionApp
    planName: names.plan
    location: location
    tags: appTags
    identityId: identity.outputs.id
    speechIdentityId: speechIdentity.outputs.id
    hostBlobEndpoint: hostStorage.outputs.blobEndpoint
    deploymentContainerName: deploymentContainer
    pythonVersion: '3.11'
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    httpPerInstanceConcurrency: httpPerInstanceConcurrency
    alwaysReadyHttpInstances: alwaysReadyHttpInstances
    alwaysReadyDurableInstances: alwaysReadyDurableInstances
    zoneRedundant: zoneRedundant
    corsAllowedOrigins: corsOrigins
    appSettings: appSettings
    keyVaultUri: keyVault.outputs.uri
    keyVaultSecrets: keyVaultSecrets
    logAnalyticsWorkspaceId: monitoring.outputs.workspaceId
  }
}

// ---------------------------------------------------------------- hosting: Container Apps

module registry 'modules/registry.bicep' = if (!isFlex) {
  name: 'container-registry'
  scope: rg
  params: {
    name: names.registry
    location: location
    tags: tags
    skuName: registrySku
    appPrincipalId: identity.outputs.principalId
    pushPrincipalId: principalId
    pushPrincipalType: principalType
  }
}

module containerEnvironment 'modules/containerenvironment.bicep' = if (isApp && !isFlex) {
  name: 'container-environment'
  scope: rg
  params: {
    name: names.containerEnvironment
    location: location
    tags: tags
    logAnalyticsWorkspaceId: monitoring.outputs.workspaceId
  }
}

module containerApp 'modules/containerapp.bicep' = if (isApp && !isFlex) {
  name: 'container-app'
  scope: rg
  dependsOn: [
    communication
    speech
  ]
  params: {
    name: names.containerApp
    location: location
    tags: appTags
    environmentId: containerEnvironment.outputs.id
    environmentDefaultDomain: containerEnvironment.outputs.defaultDomain
    identityId: identity.outputs.id
    speechIdentityId: speechIdentity.outputs.id
    registryServer: registry.outputs.loginServer
    image: containerImage
    appSettings: appSettings
    keyVaultUri: keyVault.outputs.uri
    keyVaultSecrets: keyVaultSecrets
    minReplicas: containerMinReplicas
    maxReplicas: containerMaxReplicas
    cpu: containerCpu
    memory: containerMemory
    corsAllowedOrigins: corsOrigins
  }
}

var appName = !isApp ? '' : isFlex ? functionApp.outputs.name : containerApp.outputs.name
var appUri = !isApp ? '' : isFlex ? functionApp.outputs.uri : containerApp.outputs.uri

// ---------------------------------------------------------------- alerts and workbook

module alerts 'modules/alerts.bicep' = if (isApp) {
  name: 'alerts'
  scope: rg
  params: {
    appInsightsName: monitoring.outputs.appInsightsName
    location: location
    tags: tags
    alertEmail: alertEmail
    healthUrl: '${appUri}/api/health/ready'
    systemTopicName: communication.outputs.systemTopicName
    aiDailyCostUsd: aiDailyCostAlertUsd
  }
}

// The operations workbook: on the one Application Insights component both
// hosting options send to, so it is the same for flex and containerapps.
module workbook 'modules/workbook.bicep' = if (isApp) {
  name: 'workbook'
  scope: rg
  params: {
    appInsightsName: monitoring.outputs.appInsightsName
    location: location
    tags: tags
  }
}

// ---------------------------------------------------------------- outputs (azd env)

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = subscription().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output HOSTING string = hosting
output DEPLOY_STAGE string = stage
// azd deploys the code package only on Flex (azure.yaml, service condition).
output DEPLOY_CODE_PACKAGE string = isFlex ? 'true' : 'false'
output DB_CONNECTIONS_BUDGETED int = checkedConnections
output DB_POOLER_MAX_CLIENT_CONNECTIONS int = dbPoolerMaxClientConnections
output AZURE_FUNCTION_APP_NAME string = appName
output SERVICE_API_NAME string = appName
output SERVICE_API_URI string = appUri
output AZURE_CONTAINER_REGISTRY_NAME string = isFlex ? '' : registry.outputs.name
output AZURE_CONTAINER_REGISTRY_ENDPOINT string = isFlex ? '' : registry.outputs.loginServer
output EVENTGRID_DEADLETTER_STORAGE_ID string = communication.outputs.deadLetterStorageId
output EVENTGRID_DEADLETTER_CONTAINER string = deadLetterContainer
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_KEY_VAULT_ENDPOINT string = keyVault.outputs.uri
output AZURE_APP_PRINCIPAL_ID string = identity.outputs.principalId
output ACS_ENDPOINT string = communication.outputs.endpoint
output AZURE_ACS_NAME string = communication.outputs.name
output EVENTGRID_SYSTEM_TOPIC_NAME string = communication.outputs.systemTopicName
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.appInsightsName
output AZURE_MANAGED_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output AZURE_SPEECH_IDENTITY_PRINCIPAL_ID string = speechIdentity.outputs.principalId
output RECORDINGS_ACCOUNT_URL string = dataStorage.outputs.blobEndpoint
