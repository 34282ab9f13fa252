// A private FreeRADIUS 3 for the RADIUS integration tests: generated minimal config dir (one
// client with its secret, a users file, detail accounting), on free 127.0.0.1 UDP ports.
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { outputMatches, startDaemon } from './daemon.js';
import { freeUdpPort } from './ports.js';
import { makeTempDir } from './temp.js';

export const RADIUS_SECRET = 'freeradius-test-secret';
export const USERS = { alice: 'alice-pw', bob: 'bob-pw', carol: 'carol-pw' } as const;

export interface FreeRadius {
  authPort: number;
  acctPort: number;
  secret: string;
  /** Contents of the accounting detail file ('' before the first record). */
  detail(): Promise<string>;
  /** Everything FreeRADIUS printed so far (debug output), for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

const USERS_FILE = `alice Cleartext-Password := "${USERS.alice}"
	Class := "netbox-admin",
	Cisco-AVPair += "shell:role=network-operator"

bob Cleartext-Password := "${USERS.bob}"
	Reply-Message := "Welcome, bob",
	Filter-Id := "netbox-viewer"

carol Cleartext-Password := "${USERS.carol}", Auth-Type := Reject
	Reply-Message := "Account disabled"
`;

function radiusdConf(dir: string, authPort: number, acctPort: number, secret: string): string {
  return `prefix = /usr
exec_prefix = /usr
sysconfdir = /etc
localstatedir = /var
sbindir = /usr/sbin
raddbdir = ${dir}
confdir = ${dir}
modconfdir = ${dir}/mods-config
logdir = ${dir}/log
radacctdir = ${dir}/acct
run_dir = ${dir}/run
db_dir = ${dir}
libdir = /usr/lib/freeradius
pidfile = ${dir}/run/radiusd.pid
name = freeradius
max_request_time = 5
cleanup_delay = 2
max_requests = 256
hostname_lookups = no
log {
  destination = stdout
  auth = yes
}
security {
  allow_core_dumps = no
  max_attributes = 200
  reject_delay = 0
  status_server = yes
}
thread pool {
  start_servers = 1
  max_servers = 4
  min_spare_servers = 1
  max_spare_servers = 4
  max_requests_per_server = 0
}
client netbox-gate {
  ipaddr = 127.0.0.1
  secret = ${secret}
  # BlastRADIUS hardening: drop Access-Requests without a valid Message-Authenticator and,
  # on 3.2.5+, Proxy-State without one (older versions ignore the unknown item).
  require_message_authenticator = yes
  limit_proxy_state = yes
}
modules {
  pap {
  }
  files {
    filename = ${dir}/users
  }
  detail {
    filename = ${dir}/acct/detail
    permissions = 0600
    header = "%t"
  }
}
server default {
  listen {
    type = auth
    ipaddr = 127.0.0.1
    port = ${authPort}
  }
  listen {
    type = acct
    ipaddr = 127.0.0.1
    port = ${acctPort}
  }
  authorize {
    files
    pap
  }
  authenticate {
    Auth-Type PAP {
      pap
    }
  }
  preacct {
  }
  accounting {
    detail
  }
  # FreeRADIUS before 3.2.5 signs Access-Accept/Reject only when the reply list holds a
  # Message-Authenticator; 3.2.5+ always does. Our client requires it either way.
  post-auth {
    update reply {
      &Message-Authenticator := 0x00
    }
    Post-Auth-Type REJECT {
      update reply {
        &Message-Authenticator := 0x00
      }
    }
  }
}
`;
}

export interface FreeRadiusOptions {
  secret?: string;
  /** users-file entries appended after alice, bob and carol (FreeRADIUS "files" module syntax). */
  extraUsers?: string;
}

export async function startFreeRadius(opts: FreeRadiusOptions = {}): Promise<FreeRadius> {
  const secret = opts.secret ?? RADIUS_SECRET;
  const tmp = await makeTempDir('netbox-gate-freeradius-');
  const dir = tmp.path;
  const authPort = await freeUdpPort();
  let acctPort = await freeUdpPort();
  while (acctPort === authPort) acctPort = await freeUdpPort();
  try {
    await Promise.all(['log', 'acct', 'run'].map((d) => mkdir(join(dir, d))));
    await cp('/etc/freeradius/3.0/mods-config', join(dir, 'mods-config'), { recursive: true });
    await writeFile(join(dir, 'radiusd.conf'), radiusdConf(dir, authPort, acctPort, secret), { mode: 0o600 });
    // A blank line keeps an extra entry from being read as more reply items of carol's.
    const users = opts.extraUsers ? `${USERS_FILE}\n${opts.extraUsers.trim()}\n` : USERS_FILE;
    await writeFile(join(dir, 'users'), users, { mode: 0o600 });
  } catch (err) {
    await tmp.remove();
    throw err;
  }

  const daemon = await startDaemon({
    name: 'FreeRADIUS',
    cmd: 'freeradius',
    args: ['-X', '-f', '-d', dir],
    ready: outputMatches('Ready to process requests'),
    timeoutMs: 20_000,
    cleanup: () => tmp.remove(),
  });
  return {
    authPort,
    acctPort,
    secret,
    detail: () => readFile(join(dir, 'acct', 'detail'), 'utf8').catch(() => ''),
    output: () => daemon.output(),
    stop: () => daemon.stop(),
  };
}
