// The function app as a container on Azure Container Apps (kind
// 'functionapp': Azure Functions on Container Apps, Functions v4, the image
// built from the repository's Dockerfile). Same identity, same settings, same
// host storage (AzureWebJobsStorage and the Durable task hub) and the same Key
// Vault secrets as the Flex Consumption app; main.bicep builds both from one
// set of variables.
// - The image is pulled from the registry with the user-assigned identity
//   (AcrPull); the registry has no admin user and no password is stored.
// - Secrets are Container Apps secrets backed by Key Vault (keyVaultUrl +
//   identity), exposed to the app as environment variables. Unlike App
//   Service references, a secret missing from the vault fails the revision,
//   so every referenced secret must exist before this deploys.
// - Scaling: for kind 'functionapp' the platform derives the scale rules from
//   the app's triggers. Durable Functions on the Azure Storage backend is not
//   scaled from zero on Container Apps, so minReplicas is at least 1.
// - Probes: liveness asks /api/health/live (the process only: a database
//   blip must not restart healthy replicas), readiness /api/health/ready
//   (database and storage: a replica that cannot serve gets no traffic).
// - Image and port change together: the deploy scripts re-run this template
//   with the new image, so one revision carries both (a port switch ahead of
//   the image left the placeholder failing its probes).

@description('Container app name.')
@minLength(2)
@maxLength(32)
param name string

@description('Azure region.')
param location string

@description('Tags for the app; carries azd-service-name.')
param tags object = {}

@description('Resource id of the Container Apps environment.')
param environmentId string

@description('Default domain of the environment (the app is <name>.<domain>).')
param environmentDefaultDomain string

@description('Resource id of the user-assigned identity.')
param identityId string

@description('Resource id of the Speech identity: attached only so that the app can ask for its token (AZURE_SPEECH_CLIENT_ID), the one handed to browsers; the app identity stays the default (AZURE_CLIENT_ID).')
param speechIdentityId string

@description('Login server of the registry holding the image.')
param registryServer string

@description('Image to run (<registry>/<repository>:<tag>). Empty before the first image is pushed: a public Functions base image then holds the place.')
param image string = ''

@description('Plain settings (host settings included).')
param appSettings object = {}

@description('Settings read from Key Vault: setting name -> secret name.')
param keyVaultSecrets object = {}

@description('Key Vault URI (with trailing slash).')
param keyVaultUri string

@description('Replicas that always run. At least 1: the Durable task hub (Azure Storage backend) does not wake a scaled-to-zero app.')
@minValue(1)
@maxValue(30)
param minReplicas int = 1

@description('Most replicas. Times DB_POOL_MAX must stay under the Supabase pooler client limit.')
@minValue(1)
@maxValue(300)
param maxReplicas int = 10

@description('vCPU per replica (Consumption profile: 0.25 to 4, with memory = 2 x vCPU Gi).')
param cpu string = '1.0'

@description('Memory per replica.')
param memory string = '2Gi'

@description('Origins allowed by ingress CORS (the React frontend).')
param corsAllowedOrigins array = []

var placeholderImage = 'mcr.microsoft.com/azure-functions/python:4-python3.11'
var runningPlaceholder = empty(image)
// The project's image listens on 8080 (Dockerfile); the base image used as a
// placeholder listens on 80 and has none of our routes, so it is probed on
// its port only.
var targetPort = runningPlaceholder ? 80 : 8080
// Numbers from the health routes' notes: /live answers at once, /ready
// checks each dependency within 3 s (all at once), so 5 s suffices. The
// startup probe gates the other two, so they need no initial delay.
var httpProbes = [
  {
    // The Functions host takes a while to index the app on a cold start:
    // 120 s in all (10 x 12 s; Container Apps caps the failure threshold at
    // 10, so the notes' 24 x 5 s becomes 10 x 12 s).
    type: 'Startup'
    httpGet: {
      path: '/api/health/live'
      port: targetPort
    }
    periodSeconds: 12
    timeoutSeconds: 3
    failureThreshold: 10
  }
  {
    type: 'Liveness'
    httpGet: {
      path: '/api/health/live'
      port: targetPort
    }
    periodSeconds: 30
    timeoutSeconds: 5
    failureThreshold: 3
  }
  {
    // A database outage takes every replica out of rotation at once (callers
    // get the ingress's error, not the app's JSON 503): the trade-off is
    // stated in docs/DEPLOYMENT.md, with the alternative (/live here too).
    type: 'Readiness'
    httpGet: {
      path: '/api/health/ready'
      port: targetPort
    }
    periodSeconds: 15
    timeoutSeconds: 5
    failureThreshold: 3
  }
]
var placeholderProbes = [
  {
    type: 'Liveness'
    tcpSocket: {
      port: targetPort
    }
    periodSeconds: 30
  }
]

var containerSettings = {
  FUNCTIONS_WORKER_RUNTIME: 'python'
  // Durable client bindings build status URLs from it.
  WEBSITE_HOSTNAME: '${name}.${environmentDefaultDomain}'
}

var plainEnv = [for setting in items(union(appSettings, containerSettings)): {
  name: setting.key
  value: setting.value
}]
var secretEnv = [for secret in items(keyVaultSecrets): {
  name: secret.key
  secretRef: secret.value
}]
var secrets = [for secret in items(keyVaultSecrets): {
  name: secret.value
  keyVaultUrl: '${keyVaultUri}secrets/${secret.value}'
  identity: identityId
}]

resource app 'Microsoft.App/containerApps@2025-07-01' = {
  name: name
  location: location
  tags: tags
  kind: 'functionapp'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
      '${speechIdentityId}': {}
    }
  }
  properties: {
    environmentId: environmentId
    workloadProfileName: 'Consumption'
    configuration: {
      activeRevisionsMode: 'Single'
      ingress: {
        external: true
        targetPort: targetPort
        transport: 'auto'
        allowInsecure: false
        corsPolicy: {
          allowedOrigins: corsAllowedOrigins
          allowedMethods: [
            'GET'
            'POST'
            'OPTIONS'
          ]
          allowedHeaders: [
            '*'
          ]
          allowCredentials: false
        }
      }
      registries: [
        {
          server: registryServer
          identity: identityId
        }
      ]
      secrets: secrets
    }
    template: {
      containers: [
        {
          name: 'functions'
          image: runningPlaceholder ? placeholderImage : image
          env: concat(plainEnv, secretEnv)
          probes: runningPlaceholder ? placeholderProbes : httpProbes
          resources: {
            cpu: json(cpu)
            memory: memory
          }
        }
      ]
      scale: {
        minReplicas: minReplicas
        maxReplicas: maxReplicas
      }
    }
  }
}

output id string = app.id
output name string = app.name
output fqdn string = app.properties.configuration.ingress.fqdn
output uri string = 'https://${app.properties.configuration.ingress.fqdn}'
