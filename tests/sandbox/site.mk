# tests/sandbox/site.mk: the site of the sandbox world, where make demo
# and the end-to-end tests run the runbook.  It is the site mkprov uses
# when there is no site.mk at the top of the tree, so that nothing
# reaches a real cloud by accident.
#
# The sandbox writes the addresses it chose when it started into
# $(SANDBOX_RUN)/values.mk (URLs, the CA, the SSH port: nothing
# secret) and the machine identity into identity.env (mode 0600).

SANDBOX_RUN ?= $(TOP)/state/sandbox
-include $(SANDBOX_RUN)/values.mk

ifneq ($(filter $(HOST_GOALS),$(MAKECMDGOALS)),)
ifeq ($(SANDBOX_INFISICAL_URL),)
$(error SITE: $(SITE): the sandbox is not running: make sandbox-up, \
	or write a site.mk for a real site from mk/site.example)
endif
endif

# The sandbox's hosts keep their state inside the sandbox, which a new
# make sandbox-up wipes: they never mix with a real site's.
STATE = $(SANDBOX_RUN)/state

INFISICAL_URL = $(SANDBOX_INFISICAL_URL)
INFISICAL_PROJECT_ID = $(SANDBOX_INFISICAL_PROJECT_ID)
INFISICAL_ENV = prod
INFISICAL_PATH = /
INFISICAL_CREDENTIALS = $(SANDBOX_RUN)/identity.env
CAFILE = $(SANDBOX_CAFILE)

# Every secret the runbook's phase 1 lists; the device keys are found
# through SSH_KEYS_ACTIVE_DEVICES.
REQUIRED_SECRETS = HETZNER_API_TOKEN CLOUDFLARE_API_TOKEN \
	S3_ACCESS_KEY S3_SECRET_KEY S3_ENDPOINT S3_REGION S3_BUCKET \
	STORAGE_BOX_SSH_PRIVATE_KEY ENCRYPTION_KEY AUTH_SECRET \
	POSTGRES_USER POSTGRES_PASSWORD POSTGRES_DB REDIS_PASSWORD \
	IMGPROXY_KEY IMGPROXY_SALT

HETZNER_URL = $(SANDBOX_HETZNER_URL)
SERVER_TYPE = cpx32
SERVER_IMAGE = ubuntu-24.04
SERVER_LOCATION = nbg1
SERVER_LABELS = role=production
SERVER_WAIT = 2m

SSH_USER = $(SANDBOX_SSH_USER)
SSH_PORT = $(SANDBOX_SSH_PORT)
SSH_KEY = $(SANDBOX_SSH_KEY)

SERVER_ROLE = production
DOMAIN_SUFFIX = $(SANDBOX_DOMAIN)
INVENTORY = $(SANDBOX_RUN)/inventory/hosts.yml
SERVICES_DIR = /srv/services/production

CLOUDFLARE_URL = $(SANDBOX_CLOUDFLARE_URL)
DNS_RECORDS = secrets:proxied git:dns-only media:proxied cdn:proxied \
	notes:proxied docs:proxied
