// The IRC benchmark's targets: Parley's IRC gateway, and for comparison InspIRCd and ngIRCd from
// Debian's packages. Each gets a generated config in the run's temp dir, bound to 127.0.0.1 on
// the port the bench chose, with flood protection and per-address limits lifted (all 1,000
// clients come from one address and the senders send far faster than any human), and runs in the
// foreground so the bench starts and stops it by PID.

import { spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export type IrcTarget = "parley-irc" | "inspircd" | "ngircd";
export const IRC_TARGETS: IrcTarget[] = ["parley-irc", "inspircd", "ngircd"];

export const IRC_CHANNEL = "#lobby";

const BINARIES: Record<Exclude<IrcTarget, "parley-irc">, { bin: string; pkg: string }> = {
  inspircd: { bin: "/usr/sbin/inspircd", pkg: "inspircd" },
  ngircd: { bin: "/usr/sbin/ngircd", pkg: "ngircd" },
};

/**
 * Installs the Debian packages of the peers that are missing (root only). Returns an error text
 * when a peer cannot be had, so the bench can say why instead of failing halfway.
 */
export function ensurePeersInstalled(targets: string[], log: (line: string) => void): string | null {
  const missing = targets
    .filter((t): t is keyof typeof BINARIES => t in BINARIES)
    .filter((t) => !existsSync(BINARIES[t].bin))
    .map((t) => BINARIES[t].pkg);
  if (missing.length === 0) return null;
  log(`bench: installing ${missing.join(" ")} from Debian's packages\n`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const update = spawnSync("apt-get", ["update"], { stdio: "inherit", env });
  const install = spawnSync("apt-get", ["install", "-y", ...missing], { stdio: "inherit", env });
  if (update.status !== 0 || install.status !== 0) {
    return `apt-get install -y ${missing.join(" ")} failed (exit ${install.status ?? update.status}); install them by hand or leave those targets out`;
  }
  return null;
}

/**
 * The command line that runs target `t` on `port`, after writing its config into `dir`.
 * Parley also needs an HTTP port (`httpPort`), which the bench polls for /healthz.
 */
export function ircTargetCommand(
  t: IrcTarget,
  o: { port: number; httpPort: number; dir: string; nodeFlags: string[] },
): string[] {
  switch (t) {
    case "parley-irc":
      return parleyCommand(o);
    case "inspircd":
      return inspircdCommand(o.port, o.dir);
    case "ngircd":
      return ngircdCommand(o.port, o.dir);
  }
}

function parleyCommand(o: { port: number; httpPort: number; dir: string; nodeFlags: string[] }): string[] {
  const config = join(o.dir, "bench.json");
  writeFileSync(
    config,
    JSON.stringify({
      limits: {
        connectionMessages: { burst: 100_000, perSecond: 100_000 },
        accountMessages: { burst: 100_000, perSecond: 100_000 },
      },
      irc: {
        fakelag: { enabled: false },
        maxConnectionsPerAddress: 0,
        loginRate: { burst: 100_000, perSecond: 100_000 },
        motd: [],
      },
    }),
  );
  return [
    process.execPath,
    ...o.nodeFlags,
    "bin/parley.js",
    "serve",
    "--host",
    "127.0.0.1",
    "--port",
    String(o.httpPort),
    "--irc-port",
    String(o.port),
    "--line-port",
    "0",
    "--data",
    join(o.dir, "data"),
    "--log-level",
    "warn",
    "--config",
    config,
  ];
}

function inspircdCommand(port: number, dir: string): string[] {
  const config = join(dir, "inspircd.conf");
  // No flood protection modules are loaded; the connect class lifts fakelag, the command rate,
  // the per-address limits and the queues. No DNS, no ident.
  writeFileSync(
    config,
    `<server name="inspircd.bench" description="bench" network="Bench">
<admin name="bench" nick="bench" email="bench@localhost">
<bind address="127.0.0.1" port="${port}" type="clients">
<power diepass="" restartpass="">
<connect name="bench" allow="127.0.0.1" timeout="60" pingfreq="600" fakelag="no" threshold="1000000"
         commandrate="100000000" hardsendq="67108864" softsendq="67108864" recvq="1048576"
         localmax="100000" globalmax="100000" maxchans="100" resolvehostnames="no" useident="no">
<channels users="100" opers="100">
<limits maxchan="64" maxnick="32">
<pid file="${join(dir, "inspircd.pid")}">
<log method="file" type="* -USERINPUT -USEROUTPUT" level="default" target="${join(dir, "inspircd.log")}">
<options prefixquit="Quit: " syntaxhints="no" announcets="yes" hostintopic="yes" pingwarning="15">
<security hideserver="" userstats="Pu" flatlinks="no" maxtargets="20">
<performance quietbursts="yes" softlimit="20000" somaxconn="1024" netbuffersize="65536" nouserdns="yes">
<dns timeout="1">
`,
  );
  return [BINARIES.inspircd.bin, "--nofork", "--nopid", "--runasroot", `--config=${config}`];
}

function ngircdCommand(port: number, dir: string): string[] {
  const config = join(dir, "ngircd.conf");
  // Mode F ("relaxed flood protection") on every client and no penalty times: ngIRCd otherwise
  // throttles each client to a few commands per second.
  writeFileSync(
    config,
    `[Global]
Name = ngircd.bench
Info = bench
Listen = 127.0.0.1
Ports = ${port}
MotdPhrase = bench

[Limits]
MaxConnections = 0
MaxConnectionsIP = 0
MaxJoins = 0
MaxPenaltyTime = 0
PingTimeout = 600
PongTimeout = 600

[Options]
DefaultUserModes = F
DNS = no
Ident = no
PAM = no
`,
  );
  return [BINARIES.ngircd.bin, "--nodaemon", "--config", config];
}
