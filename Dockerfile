# The function app as a container image: the same code as the Flex
# Consumption package, for Azure Functions on Azure Container Apps and for
# docker-compose.yml. The base image carries the Functions host (v4) and the
# Python 3.11 worker. See docs/DEPLOYMENT.md ("Container Apps").
FROM mcr.microsoft.com/azure-functions/python:4-python3.11

# The host listens on 8080, not 80, so that it can run without root
# (ASPNETCORE_URLS is read by the host's web server). Container Apps ingress
# targets 8080 (infra/modules/containerapp.bicep); compose maps 7071 to it.
ENV AzureWebJobsScriptRoot=/home/site/wwwroot \
    AzureFunctionsJobHost__Logging__Console__IsEnabled=true \
    ASPNETCORE_URLS=http://+:8080 \
    PYTHON_ENABLE_INIT_INDEXING=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HOME=/home/app

COPY requirements.txt /tmp/requirements.txt
RUN pip install --no-cache-dir -r /tmp/requirements.txt \
    && groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /home/app --create-home --shell /usr/sbin/nologin app

# Code is owned by root and read-only for the app user.
COPY . /home/site/wwwroot

USER 10001:10001
EXPOSE 8080

# Liveness of host and worker (and database reachability) through the app's
# own health route; python is in the image, curl may not be.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/api/health', timeout=4).status == 200 else 1)"]
