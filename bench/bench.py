#!/usr/bin/python3
"""dpdk-vswitch against OVS-DPDK and a testpmd baseline, one run (docs/performance.md).

Every system polls with one core (CPU 1); generators, VMs and control
threads run on CPU 0.  Rates come from each system's own counters over
windows; a window in which the polling thread or the generator waited for
its CPU is measured again.  Everything started here is ended here, by PID.
"""
import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
PY = "/usr/bin/python3"          # Debian's, which has scapy
VM1_MAC = "02:00:00:00:00:01"
VM2_MAC = "02:00:00:00:00:02"
NH_MAC = "02:00:5e:00:02:02"     # the remote tunnel endpoint, pinned on every system
PHY_MAC = "02:70:63:61:70:00"    # net_pcap's first port: where decap frames go
NULL_DEV = "net_null0,no-rx=1"
SYSTEMS = ("vswitch", "vswitch-b", "ovs", "base")
LABEL = {"vswitch": "dpdk-vswitch", "vswitch-b": "dpdk-vswitch B", "ovs": "OVS-DPDK",
         "base": "testpmd baseline"}


def is_vs(system):
    """dpdk-vswitch, from --build or (B) from --build-b."""
    return system in ("vswitch", "vswitch-b")


def log(msg):
    print(msg, flush=True)


PROBE_N = 100000
PROBE_EVERY = 0.5                # seconds
LEARN_MAX = 30.0                 # seconds a switch may take to learn its decisions


def host_probe():
    """CPU time, as this guest counts it, of a fixed piece of work (about
    3 ms).  The host taking the vCPU away (no steal time is reported here)
    or running it slower (a busy sibling thread, a lower clock) inflates
    it; waiting for a CPU inside the guest does not, as a thread is not
    charged while it waits.  On these machines it swings between 1× and
    1.7× from one tenth of a second to the next."""
    t0 = time.thread_time_ns()
    x = 0
    for i in range(PROBE_N):
        x += i
    return time.thread_time_ns() - t0


def base_burst(case):
    """The baseline reads bursts as large as dpdk-vswitch does on the same
    port (src/datapath/dp.h): DP_BURST from vhost, DP_BURST_PHYS from the
    physical port."""
    return 64 if case["dir"] == "encap" else 32


class Bench:
    def __init__(self, a):
        self.a = a
        self.dir = tempfile.mkdtemp(prefix="vsbench.")
        self.procs = {}          # name -> Popen of what we started
        self.pidfiles = []       # daemons that detach (OVS)
        self.netns = None
        self.tsc_hz = None
        self.results = []        # one dict per measured case and system
        self.vs_build = a.build
        self.seq = 0
        self.memory = {}         # endpoints -> dpdk-vswitch huge page kB after loading
        # the fastest probe seen: the host at full speed
        self.probe_ref = min(host_probe() for _ in range(20))
        self.c2c_exe = os.path.join(a.build, "bench", "vs-core-to-core")
        if not os.access(self.c2c_exe, os.X_OK):
            raise RuntimeError("%s missing: build with meson first" % self.c2c_exe)
        # the nearest placement seen: idle vCPUs are placed anew, so ten
        # probes a tenth of a second apart nearly always meet the near one
        samples = []
        for _ in range(10):
            samples.append(self.core_to_core())
            time.sleep(0.1)
        self.c2c_ref = min(samples)

    # ---- processes -------------------------------------------------------

    def start(self, name, argv, cpu=0, stdin_fifo=False, env=None):
        out = open(os.path.join(self.dir, name + ".log"), "w")
        stdin = subprocess.DEVNULL
        if stdin_fifo:
            # testpmd leaves on stdin EOF: give it a FIFO it holds open itself
            fifo = os.path.join(self.dir, name + ".in")
            if not os.path.exists(fifo):
                os.mkfifo(fifo)
            stdin = os.open(fifo, os.O_RDWR)
        p = subprocess.Popen(["taskset", "-c", str(cpu)] + argv, stdin=stdin, stdout=out,
                             stderr=subprocess.STDOUT, env=env, start_new_session=True)
        if stdin_fifo:
            os.close(stdin)
        self.procs[name] = p
        return p

    def send(self, name, line):
        with open(os.path.join(self.dir, name + ".in"), "w") as f:
            f.write(line + "\n")

    def stop(self, name, timeout=10):
        p = self.procs.pop(name, None)
        if p is None:
            return
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def logtail(self, name, n=15):
        try:
            with open(os.path.join(self.dir, name + ".log")) as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def wait_for(self, what, fn, timeout=30):
        t = time.time() + timeout
        while time.time() < t:
            try:
                if fn():
                    return
            except (OSError, subprocess.CalledProcessError, subprocess.TimeoutExpired,
                    ValueError, KeyError):
                pass   # not up yet; a switch loading 1M endpoints may not answer for a while
            time.sleep(0.2)
        raise RuntimeError("timed out waiting for " + what)

    def cleanup(self):
        for name in list(self.procs):
            self.stop(name, 5)
        for pf in self.pidfiles:
            try:
                with open(pf) as f:
                    pid = int(f.read().strip())
                os.kill(pid, signal.SIGTERM)
                for _ in range(50):
                    os.kill(pid, 0)
                    time.sleep(0.1)
                os.kill(pid, signal.SIGKILL)
            except (OSError, ValueError):
                pass
        self.pidfiles = []
        if self.netns:
            subprocess.run(["ip", "netns", "del", self.netns], stderr=subprocess.DEVNULL)
            self.netns = None

    # ---- generators and VMs (CPU 0) ---------------------------------------

    def prefix(self, what):
        self.seq += 1
        return "vsb%d-%s%d" % (os.getpid(), what, self.seq)

    def testpmd(self, name, vdevs, fwd_args, lcores="0@0,1@0", cpu=0, mbufs=16384):
        # line-buffered: the stats we parse must reach the log when printed
        argv = ["stdbuf", "-oL", "dpdk-testpmd", "--lcores", lcores, "--no-pci", "--in-memory",
                "--single-file-segments", "--file-prefix", self.prefix(name),
                "--log-level=*:notice"]
        for v in vdevs:
            argv += ["--vdev", v]
        argv += ["--", "--total-num-mbufs=%d" % mbufs] + fwd_args
        return self.start(name, argv, cpu=cpu, stdin_fifo=True)

    def vm_sock(self):
        return os.path.join(self.dir, "vm1.sock")

    def start_vm(self, case):
        """The VM side: a generator for encap, a receiver for decap."""
        vu = "virtio_user0,path=%s,server=1,queues=1,mac=%s,queue_size=%d" % (
            self.vm_sock(), VM1_MAC, self.a.vm_ring)
        if case["dir"] == "decap":
            self.testpmd("vm", [vu], ["--forward-mode=rxonly"])
        elif case["gen"] == "txonly":
            self.testpmd("vm", [vu], ["--forward-mode=txonly", "--txpkts=%d" % case["size"],
                                      "--eth-peer=0,%s" % VM2_MAC])
        elif case.get("once"):   # the file once, when the switch is connected: see capture()
            pc = "net_pcap0,rx_pcap=%s" % case["pcap"]
            self.testpmd("vm", [pc, vu], ["-i", "--no-flush-rx", "--forward-mode=io"])
        else:   # pcap replayed into the VM port: io forwarding, port 0 -> port 1
            pc = "net_pcap0,rx_pcap=%s,infinite_rx=1" % case["pcap"]
            self.testpmd("vm", [pc, vu], ["--forward-mode=io"])
        self.wait_for("VM socket", lambda: os.path.exists(self.vm_sock()))

    def stop_vm(self):
        self.stop("vm")
        try:
            os.unlink(self.vm_sock())
        except OSError:
            pass

    # ---- systems ----------------------------------------------------------

    def vs_ctl(self, *args):
        # `show` lists every endpoint: ~20 s with a million of them on these machines
        out = subprocess.run([os.path.join(self.vs_build, "vswitchctl"), "-s",
                              os.path.join(self.dir, "vs.sock"), "-t", "120", "--json"] +
                             list(args), capture_output=True, text=True, timeout=130,
                             check=True).stdout
        return json.loads(out)

    @staticmethod
    def hugetlb_kb(pid):
        """Huge page memory mapped by @pid (kB): DPDK's heap, tables included."""
        kb = 0
        with open("/proc/%d/smaps" % pid) as f:
            for ln in f:
                if ln.startswith(("Private_Hugetlb:", "Shared_Hugetlb:")):
                    kb += int(ln.split()[1])
        return kb

    def start_vswitch(self, phys, endpoints, system="vswitch"):
        self.vs_build = self.a.build_b if system == "vswitch-b" else self.a.build
        cfg = os.path.join(self.dir, "vs.yaml")
        subprocess.run([PY, os.path.join(HERE, "gen_config.py"), "--out", cfg, "--dir", self.dir,
                        "--phys", phys, "--endpoints", str(endpoints)], check=True)
        self.start("vswitch", [os.path.join(self.vs_build, "dpdk-vswitch"), "-c", cfg])
        t0 = time.time()
        self.wait_for("dpdk-vswitch", lambda: self.vs_ctl("show"), 120)
        show = self.vs_ctl("show")
        self.tsc_hz = self.tsc_hz or show["tsc_hz"]
        hp = self.hugetlb_kb(self.procs["vswitch"].pid)
        if system == "vswitch":
            self.memory[endpoints] = hp
        log("  dpdk-vswitch up with %d endpoints in %.1f s, %.0f MB of huge pages" % (
            endpoints, time.time() - t0, hp / 1024))

    def vs_counters(self, case):
        st = self.vs_ctl("stats")
        ports = {p["name"]: p for p in st["ports"]}
        w = st["workers"][0]
        n = ports["ul0"]["tx_packets"] if case["dir"] == "encap" else ports["vm1"]["tx_packets"]
        return n, w["busy_cycles"], w["packets"]

    def ovs(self, *argv, check=True):
        env = dict(os.environ, OVS_RUNDIR=self.ovsdir, OVS_LOGDIR=self.ovsdir,
                   OVS_DBDIR=self.ovsdir)
        r = subprocess.run(["ip", "netns", "exec", self.netns] + list(argv), env=env,
                           capture_output=True, text=True, timeout=60)
        if check and r.returncode != 0:
            raise ValueError("%s: %s" % (" ".join(argv), r.stderr.strip()))
        return r.stdout

    def start_ovs(self, phys):
        """OVS 3.1 in its own network namespace (br-phy's address and routes stay
        there), its own database and run directory (recipe: ovs-dpdk-peer.md)."""
        self.ovsdir = os.path.join(self.dir, "ovs")
        shutil.rmtree(self.ovsdir, ignore_errors=True)
        os.makedirs(self.ovsdir)
        self.netns = "vsbench%d" % os.getpid()
        subprocess.run(["ip", "netns", "add", self.netns], check=True)
        d, db = self.ovsdir, "unix:%s/db.sock" % self.ovsdir
        self.ovs("ovsdb-tool", "create", d + "/conf.db", "/usr/share/openvswitch/vswitch.ovsschema")
        self.ovs("taskset", "-c", "0", "ovsdb-server", d + "/conf.db", "--remote=punix:%s/db.sock" % d,
                 "--pidfile=%s/ovsdb-server.pid" % d, "--detach", "--log-file=%s/ovsdb.log" % d)
        self.pidfiles.append(d + "/ovsdb-server.pid")
        v = ["ovs-vsctl", "--db=" + db, "--timeout=60"]
        self.ovs(*v, "--no-wait", "init")
        self.ovs(*v, "--no-wait", "set", "Open_vSwitch", ".", "other_config:dpdk-init=true",
                 "other_config:dpdk-socket-limit=512",
                 "other_config:per-port-memory=true", "other_config:pmd-cpu-mask=0x2",
                 'other_config:dpdk-extra="--no-pci --in-memory --file-prefix=%s"'
                 % self.prefix("ovs"))
        # OVS takes its EAL cores from its affinity: CPU 0, the PMD alone on CPU 1
        self.ovs("taskset", "-c", "0", "ovs-vswitchd", db, "--pidfile=%s/ovs-vswitchd.pid" % d,
                 "--detach", "--log-file=%s/vswitchd.log" % d)
        self.pidfiles.append(d + "/ovs-vswitchd.pid")
        self.ovs(*v, "add-br", "br-int", "--", "set", "bridge", "br-int", "datapath_type=netdev")
        self.ovs(*v, "add-port", "br-int", "vhu0", "--", "set", "Interface", "vhu0",
                 "type=dpdkvhostuserclient", "options:vhost-server-path=" + self.vm_sock())
        self.ovs(*v, "add-port", "br-int", "vxlan0", "--", "set", "Interface", "vxlan0",
                 "type=vxlan", "options:remote_ip=172.31.250.2", "options:key=100")
        self.ovs(*v, "add-br", "br-phy", "--", "set", "bridge", "br-phy", "datapath_type=netdev",
                 "other_config:hwaddr=" + PHY_MAC)
        self.ovs(*v, "add-port", "br-phy", "dpdk-phy", "--", "set", "Interface", "dpdk-phy",
                 "type=dpdk", "options:dpdk-devargs=" + phys, "mtu_request=1600")
        self.ovs("sysctl", "-qw", "net.ipv6.conf.br-phy.disable_ipv6=1")
        self.ovs("ip", "addr", "add", "172.31.250.1/24", "dev", "br-phy")
        self.ovs("ip", "link", "set", "br-phy", "mtu", "1600", "up")
        # OVS learns br-phy's address from netlink a moment later
        self.wait_for("OVS tunnel route", lambda: self.ovs(
            "ovs-appctl", "ovs/route/add", "172.31.250.2/32", "br-phy") is not None, 20)
        self.ovs("ovs-appctl", "tnl/neigh/set", "br-phy", "172.31.250.2", NH_MAC)
        of = ["ovs-ofctl"]
        self.ovs(*of, "del-flows", "br-int")
        self.ovs(*of, "add-flow", "br-int", "in_port=vhu0,actions=output:vxlan0")
        self.ovs(*of, "add-flow", "br-int", "in_port=vxlan0,actions=output:vhu0")
        self.ovs(*of, "del-flows", "br-phy")
        self.ovs(*of, "add-flow", "br-phy", "in_port=LOCAL,actions=output:dpdk-phy")
        self.ovs(*of, "add-flow", "br-phy", "in_port=dpdk-phy,actions=LOCAL")
        self.ovsv = v
        log("  OVS-DPDK up")

    def ovs_tx(self, port):
        """TX packets of @port read live from the datapath (the database's
        Interface statistics are refreshed only every 5 s)."""
        out = self.ovs("ovs-appctl", "dpctl/show", "-s").splitlines()
        for i, ln in enumerate(out):
            if ln.strip().startswith("port ") and ln.split(":")[1].split()[0] == port:
                for nxt in out[i + 1:i + 6]:
                    if "TX packets:" in nxt:
                        return int(nxt.split("TX packets:")[1].split()[0])
        raise ValueError("no TX counter for %s in dpctl/show" % port)

    def ovs_counters(self, case):
        return self.ovs_tx("dpdk-phy" if case["dir"] == "encap" else "vhu0"), None, None

    def stop_ovs(self):
        self.cleanup_ovs_only()

    def cleanup_ovs_only(self):
        for pf in list(self.pidfiles):
            try:
                with open(pf) as f:
                    pid = int(f.read().strip())
                os.kill(pid, signal.SIGTERM)
                for _ in range(100):
                    os.kill(pid, 0)
                    time.sleep(0.1)
                os.kill(pid, signal.SIGKILL)
            except (OSError, ValueError):
                pass
            self.pidfiles.remove(pf)
        if self.netns:
            subprocess.run(["ip", "netns", "del", self.netns], stderr=subprocess.DEVNULL)
            self.netns = None

    def start_base(self, case):
        """testpmd io forwarding with no processing: vhost -> null (encap), or a
        replaying pcap -> vhost (decap); its forwarding lcore on CPU 1."""
        vh = "net_vhost0,iface=%s,client=1" % self.vm_sock()
        other = "net_pcap0,rx_pcap=%s,infinite_rx=1" % case["pcap"] \
            if case["dir"] == "decap" else NULL_DEV
        self.testpmd("base", [vh, other], ["-i", "--auto-start", "--forward-mode=io",
                                           "--burst=%d" % base_burst(case)],
                     lcores="0@0,1@1", cpu="0,1")
        self.wait_for("testpmd forwarding", lambda: "Press enter" in self.logtail("base", 40)
                      or "io packet forwarding" in self.logtail("base", 40))

    def base_counters(self, case):
        # port 0 = vhost, port 1 = the other: encap counts 1's TX, decap 0's TX
        port = 1 if case["dir"] == "encap" else 0
        logf = os.path.join(self.dir, "base.log")
        off = os.path.getsize(logf)

        def block():
            with open(logf) as f:
                f.seek(off)
                t = f.read()
            i = t.find("NIC statistics for port %d" % port)
            return t[i:] if i >= 0 and "Tx-pps" in t[i:] else None
        self.send("base", "show port stats %d" % port)
        self.wait_for("testpmd stats", block, 10)
        blk = block()
        tx = blk[blk.index("TX-packets:"):].split()[1]
        return int(tx), None, None

    # ---- CPU accounting ---------------------------------------------------

    @staticmethod
    def sched(pid):
        """{tid: (run_ns, wait_ns)} of every thread of @pid."""
        r = {}
        try:
            for tid in os.listdir("/proc/%d/task" % pid):
                with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                    run, wait, _ = f.read().split()
                r[tid] = (int(run), int(wait))
        except OSError:
            pass
        return r

    def pid_of(self, system):
        if system == "ovs":
            with open(self.ovsdir + "/ovs-vswitchd.pid") as f:
                return int(f.read())
        return self.procs["vswitch" if is_vs(system) else "base"].pid

    @staticmethod
    def busiest(s0, s1, secs):
        """(CPU share, wait share) of the thread that ran most in the window."""
        best = (0.0, 0.0)
        for tid, (r1, w1) in s1.items():
            r0, w0 = s0.get(tid, (r1, w1))
            run, wait = (r1 - r0) / 1e9 / secs, (w1 - w0) / 1e9 / secs
            if run > best[0]:
                best = (run, wait)
        return best

    def core_to_core(self):
        """ns for a cache line to go from CPU 0 to CPU 1 (bench/core_to_core.c)."""
        out = subprocess.run([self.c2c_exe, "0", "1"], capture_output=True, text=True,
                             timeout=10, check=True).stdout
        return float(out)

    def host_speed_during(self, secs):
        """Wait @secs, probing the host every PROBE_EVERY s (under 1 % of
        either CPU): the speed probe on CPU 0 and 1 in turn, and how far
        apart the host placed the two CPUs.  Returns (the mean speed probe
        over the run's fastest, 1.0 at full speed; the median core-to-core
        time in ns)."""
        cpus, t, c2c = os.sched_getaffinity(0), [], []
        end = time.monotonic() + secs
        while time.monotonic() + PROBE_EVERY < end:
            time.sleep(PROBE_EVERY)
            os.sched_setaffinity(0, {len(t) % 2})
            t.append(host_probe())
            c2c.append(self.core_to_core())
        os.sched_setaffinity(0, cpus)
        time.sleep(max(0.0, end - time.monotonic()))
        if not t:
            return 1.0, self.core_to_core()
        self.probe_ref = min([self.probe_ref] + t)
        self.c2c_ref = min([self.c2c_ref] + c2c)
        return statistics.mean(t) / self.probe_ref, statistics.median(c2c)

    def replace_cpus(self, pids):
        """Stop @pids for a second: with both vCPUs idle the host may place
        them anew (it keeps a placement while they are busy).  Often it
        keeps the far one for a minute or more all the same."""
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        try:
            time.sleep(1.0)
        finally:
            for pid in pids:
                os.kill(pid, signal.SIGCONT)
        time.sleep(min(1.0, self.a.warmup))

    # ---- one case ---------------------------------------------------------

    def counters_of(self, system):
        return {"vswitch": self.vs_counters, "vswitch-b": self.vs_counters,
                "ovs": self.ovs_counters, "base": self.base_counters}[system]

    def need_more(self, clean, others):
        """Another window for a case and system: fewer clean ones than asked
        and the repeat budget not spent."""
        return len(clean) < self.a.windows and len(others) <= self.a.max_repeats and \
            len(clean) + len(others) < self.a.windows + self.a.max_repeats

    def window(self, system, case, replace=True):
        """One measurement window; (window dict, clean?).  In the far
        placement, with @replace, try to have the host place the CPUs anew."""
        counters = self.counters_of(system)
        poller, gen = self.pid_of(system), self.procs["vm"].pid
        c0, b0, p0 = counters(case)
        s0, g0, t0 = self.sched(poller), self.sched(gen), time.monotonic()
        slow, near = self.host_speed_during(self.a.window)
        c1, b1, p1 = counters(case)
        s1, g1, t1 = self.sched(poller), self.sched(gen), time.monotonic()
        secs = t1 - t0
        prun, pwait = self.busiest(s0, s1, secs)
        _, gwait = self.busiest(g0, g1, secs)
        w = dict(rate=(c1 - c0) / secs, cpu=prun, host=slow, c2c=near,
                 cpp_busy=(b1 - b0) / (p1 - p0) if b0 is not None and p1 > p0 else None)
        far = near > self.a.far * self.c2c_ref
        if pwait > self.a.starved or gwait > self.a.starved or slow > self.a.host_slow or far:
            log("    window at %.2f Mpps repeated: poller waited %.0f%%, generator "
                "%.0f%% of it, host %.2f× slower than its best, CPUs %.0f ns apart "
                "(nearest %.0f)" % (w["rate"] / 1e6, 100 * pwait, 100 * gwait, slow, near,
                                    self.c2c_ref))
            if far and replace:
                self.replace_cpus([poller, gen])
            return w, False
        return w, True

    def learn(self, system, case):
        """dpdk-vswitch, encapsulating: wait until its decision cache stops
        growing.  A VM port may ask for misses_per_port_per_s decisions a
        second (1,000 by default), so 10,000 destinations take ten seconds
        to learn; the windows measure forwarding, not learning.  (Frames
        from the network need no decision.)"""
        if not is_vs(system) or case["dir"] != "encap":
            return
        t0, last = time.monotonic(), -1
        while time.monotonic() - t0 < LEARN_MAX:
            n = self.vs_ctl("policy-service", "status")["decisions"]["cache"]["entries"]
            if n == last and n > 0:
                break
            last = n
            time.sleep(1.0)
        if time.monotonic() - t0 > 2.5:
            log("    %d decisions learnt in %.0f s" % (last, time.monotonic() - t0))

    def warm_up(self, system, case):
        self.learn(system, case)
        time.sleep(self.a.warmup)

    def windows_while(self, system, case, clean, others, more):
        """Warm up, then measure windows into @clean / @others while @more()."""
        self.warm_up(system, case)
        while more():
            w, ok = self.window(system, case)
            (clean if ok else others).append(w)

    def summarise(self, system, case, clean, others):
        contended = not clean
        if contended:   # keep what we saw, marked: the machine was never quiet enough
            log("    no clean window: reporting the others, marked *")

        chosen = others if contended else clean

        def med(key, ws=chosen):
            v = [w[key] for w in ws if w[key] is not None]
            return statistics.median(v) if v else None
        rates = [w["rate"] for w in chosen]
        mid = med("rate")
        r = dict(case=case["name"], system=system, mpps=mid / 1e6, lo=min(rates) / 1e6,
                 contended=contended,
                 hi=max(rates) / 1e6, n=len(rates), repeated=len(others),
                 cpu=med("cpu"), host=med("host"), c2c=med("c2c"),
                 cpp=self.tsc_hz / mid if self.tsc_hz and mid else None,
                 # own busy cycles only from clean windows
                 cpp_busy=med("cpp_busy", clean))
        log("    %-17s %6.2f Mpps [%5.2f-%5.2f] poller CPU %3.0f%% host %.2f× CPUs %.0f ns "
            "apart%s" % (
            LABEL[system], r["mpps"], r["lo"], r["hi"], 100 * r["cpu"], r["host"], r["c2c"],
            "  busy cycles/pkt %.0f" % r["cpp_busy"] if r["cpp_busy"] else ""))
        self.results.append(r)
        return r

    def with_case(self, system, case, body):
        """Run @body with the VM side (and the baseline) of @case started."""
        log("  %s %s" % (case["name"], LABEL[system]))
        self.start_vm(case)
        try:
            if system == "base":
                self.start_base(case)
            body()
        finally:
            if system == "base":
                self.stop("base")
            self.stop_vm()

    def run_case(self, system, case):
        """All windows of @case in one start of @system."""
        clean, others = [], []
        self.with_case(system, case, lambda: self.windows_while(
            system, case, clean, others, lambda: self.need_more(clean, others)))
        return self.summarise(system, case, clean, others)

    def with_system(self, system, group, body):
        """Run @body with @system started for @group (the baseline starts per case)."""
        if system == "base":
            return body()
        if is_vs(system):
            self.start_vswitch(group["phys"], group["endpoints"], system)
        else:
            self.start_ovs(group["phys"])
        try:
            return body()
        finally:
            if is_vs(system):
                self.stop("vswitch")
            else:
                self.stop_ovs()

    def run_interleaved(self, group, first):
        """The one case of @group on all its systems, one window per start of
        each in turn, so that every system sees the machine as the others
        do; the turn order rotates from @first.  A window to repeat is
        repeated in a later round: the far placement of the CPUs often
        lasts a minute or more, and stopping and starting the systems
        lets the host place them anew."""
        case, systems = group["cases"][0], list(group["systems"])
        got = {s: ([], []) for s in systems}
        rnd = 0
        while True:
            todo = [s for s in systems if self.need_more(*got[s])]
            if not todo:
                break
            k = (first + rnd) % len(todo)
            for s in todo[k:] + todo[:k]:
                clean, others = got[s]

                def one_window():   # a far one is repeated in a later round, on a new start
                    self.warm_up(s, case)
                    w, ok = self.window(s, case, replace=False)
                    (clean if ok else others).append(w)
                self.with_system(s, group, lambda: self.with_case(s, case, one_window))
            rnd += 1
        for s in systems:
            self.summarise(s, case, *got[s])

    # ---- groups: one start of a system serves the cases of a group ----------

    def run_group(self, system, group):
        """All cases of @group, all windows of each, in one start of @system."""
        self.with_system(system, group, lambda: [self.run_case(system, c)
                                                 for c in group["cases"]])

    # ---- capture: identical, valid VXLAN from both switches -----------------

    def vm_link_up(self, system):
        if system == "vswitch":
            return any(p["name"] == "vm1" and p["link"] == "up"
                       for p in self.vs_ctl("show")["ports"])
        return self.ovs(*self.ovsv, "get", "Interface", "vhu0", "link_state").strip() == "up"

    def capture(self, pcaps):
        fields = ["eth.src", "eth.dst", "ip.src", "ip.dst", "ip.ttl", "ip.flags.df",
                  "ip.checksum.status", "udp.srcport", "udp.dstport", "udp.checksum",
                  "vxlan.flags", "vxlan.vni", "ip.len"]
        summary = {}
        for system in ("vswitch", "ovs"):
            out = os.path.join(self.dir, "cap-%s.pcap" % system)
            phys = "net_pcap0,rx_pcap=%s,tx_pcap=%s" % (pcaps["empty"], out)
            # the input once: every frame it holds, 64 flows to 64 endpoints
            case = {"dir": "encap", "gen": "pcap", "pcap": pcaps["capin"], "name": "capture",
                    "once": True}
            if system == "vswitch":
                self.start_vswitch(phys, 1000)
            else:
                self.start_ovs(phys)
            try:
                self.start_vm(case)
                self.wait_for("the switch on the VM port", lambda: self.vm_link_up(system))
                time.sleep(1)
                self.send("vm", "start")
                time.sleep(2)
                self.stop_vm()
                if system == "ovs":   # closing the port flushes its pcap file
                    self.ovs(*self.ovsv, "del-port", "br-phy", "dpdk-phy")
            finally:
                self.stop("vswitch") if system == "vswitch" else self.stop_ovs()
            keep = os.path.join(self.a.out, "capture-%s.pcap" % system)
            shutil.copy(out, keep)
            tf = subprocess.run(
                ["tshark", "-r", out, "-o", "ip.check_checksum:TRUE", "-d", "udp.port==4789,vxlan",
                 "-Y", "vxlan", "-T", "fields", "-E", "occurrence=a", "-E", "separator=|"] +
                sum([["-e", f] for f in fields], []), capture_output=True, text=True).stdout
            lines = [ln for ln in tf.splitlines() if ln]
            txt = subprocess.run(["tshark", "-r", out, "-d", "udp.port==4789,vxlan", "-c", "2",
                                  "-V", "-Y", "vxlan"], capture_output=True, text=True).stdout
            with open(os.path.join(self.a.out, "capture-%s.txt" % system), "w") as f:
                f.write(txt)
            inner = subprocess.run(
                ["tshark", "-r", out, "-d", "udp.port==4789,vxlan", "-Y", "vxlan", "-T", "fields",
                 "-e", "vxlan.vni", "-e", "eth.dst", "-e", "ip.src", "-e", "ip.dst", "-e",
                 "udp.srcport", "-e", "udp.dstport", "-e", "ip.ttl", "-E", "occurrence=l"],
                capture_output=True, text=True).stdout.splitlines()
            # ip.checksum.status 1 = good, for the outer and the inner header
            good = sum(1 for ln in lines if ln.split("|")[6] == "1,1")
            summary[system] = dict(frames=len(lines), sample=lines[:1], good=good,
                                   inner=sorted(set(inner)))
        same = summary["vswitch"]["inner"] == summary["ovs"]["inner"]
        report = ["capture (tshark, fields: %s; outer then inner)" % " ".join(fields)]
        for s in ("vswitch", "ovs"):
            report.append("  %-12s %5d VXLAN frames (of 1024 sent in one burst), %d with good "
                          "outer and inner IPv4 checksums, %d distinct inner frames; first: %s" % (
                LABEL[s], summary[s]["frames"], summary[s]["good"], len(summary[s]["inner"]),
                summary[s]["sample"][0] if summary[s]["sample"] else "-"))
        report.append("  inner frames (VNI, dst MAC, addresses, ports, TTL) identical: %s"
                      % ("yes" if same and summary["ovs"]["inner"] else "NO"))
        return "\n".join(report)


# ---- the plan ----------------------------------------------------------------

def plan(a, pcaps):
    def enc(size, gen="txonly", flows=1, eps=1000):
        pc = pcaps.get(("encap", size, flows, eps)) if gen == "pcap" else None
        return dict(name="encap %dB %s %s %s" % (size, "txonly" if gen == "txonly" else "pcap",
                                                 "1flow" if flows == 1 else "%dk-flows" % (flows // 1000),
                                                 "1k-ep" if eps == 1000 else "1M-ep"),
                    dir="encap", size=size, gen=gen, flows=flows, eps=eps, pcap=pc)

    def dec(size):
        return dict(name="decap %dB 1flow 1k-ep" % size, dir="decap", size=size, gen="pcap",
                    flows=1, eps=1000, pcap=pcaps[("decap", size)])

    g = []
    if a.quick:
        g.append(dict(systems=SYSTEMS, phys=NULL_DEV, endpoints=1000,
                      cases=[enc(64), enc(64, "pcap"), enc(64, "pcap", 10000)]))
        g.append(dict(systems=SYSTEMS, phys="decap64", endpoints=1000, cases=[dec(64)]))
    else:
        g.append(dict(systems=SYSTEMS, phys=NULL_DEV, endpoints=1000,
                      cases=[enc(64), enc(512), enc(1500), enc(64, "pcap"),
                             enc(64, "pcap", 10000)]))
        for s in a.decap_sizes:
            g.append(dict(systems=SYSTEMS, phys="decap%d" % s, endpoints=1000, cases=[dec(s)]))
        g.append(dict(systems=("vswitch", "vswitch-b"), phys=NULL_DEV, endpoints=1000000,
                      cases=[enc(64, eps=1000000), enc(64, "pcap", 10000, 1000000)]))
    if a.systems:   # only these systems
        for grp in g:
            grp["systems"] = tuple(x for x in grp["systems"] if x in a.systems)
        g = [grp for grp in g if grp["systems"]]
    if a.cases:   # only the cases whose name matches
        for grp in g:
            grp["cases"] = [c for c in grp["cases"] if re.search(a.cases, c["name"])]
        g = [grp for grp in g if grp["cases"]]
    for grp in g:
        if grp["phys"].startswith("decap"):
            grp["phys"] = "net_pcap0,rx_pcap=%s,infinite_rx=1" % pcaps[("decap", int(grp["phys"][5:]))]
    return g


def make_pcaps(b, a):
    d = os.path.join(b.dir, "pcap")
    os.makedirs(d)
    p = {}

    def gen(key, *args):
        f = os.path.join(d, "-".join(str(x) for x in (key if isinstance(key, tuple) else (key,)))
                         + ".pcap")
        subprocess.run([PY, os.path.join(HERE, "gen_pcap.py"), args[0], f] +
                       [str(x) for x in args[1:]], check=True, stderr=subprocess.DEVNULL)
        p[key] = f

    gen("empty", "empty")
    gen("capin", "capture", 128)   # 64 flows to filler endpoints, 16 frames each
    gen(("encap", 64, 1, 1000), "encap", 64, 1, 1000)
    gen(("encap", 64, 10000, 1000), "encap", 64, 10000, 1000)
    for s in sorted(set([64] + a.decap_sizes)):
        gen(("decap", s), "decap", s)
    if not a.quick:
        gen(("encap", 64, 10000, 1000000), "encap", 64, 10000, 1000000)
    return p


def ratio(r, ref, fmt, scale):
    """@r over @ref, marked * if either was measured in contended windows only."""
    return fmt % (scale * r["mpps"] / ref["mpps"]) + ("*" if r["contended"] or ref["contended"]
                                                      else "")


def table(b, a):
    by = {(r["case"], r["system"]): r for r in b.results}
    cases = []
    for r in b.results:
        if r["case"] not in cases:
            cases.append(r["case"])
    head = ("| case | system | Mpps (median) | range | cycles/pkt | host slowdown "
            "| core to core | vs OVS | vs baseline |")
    rows = [head, "|---|---|---|---|---|---|---|---|---|"]
    for c in cases:
        o, base = by.get((c, "ovs")), by.get((c, "base"))
        for s in SYSTEMS:
            r = by.get((c, s))
            if r is None:
                continue
            rows.append("| %s | %s | %.2f%s | %.2f–%.2f | %s | %.2f× | %.0f ns | %s | %s |" % (
                c, LABEL[s], r["mpps"], "*" if r["contended"] else "", r["lo"], r["hi"],
                "%.0f" % r["cpp"] if r["cpp"] else "-", r.get("host", 1.0), r["c2c"],
                ratio(r, o, "%.2f×", 1) if o and s != "ovs" else "",
                ratio(r, base, "%.0f%%", 100) if base and s != "base" else ""))
    # our own scaling: 10k flows and 1M endpoints against the matching 1-flow/1k figure
    own = []
    pairs = [("encap 64B pcap 10k-flows 1k-ep", "encap 64B pcap 1flow 1k-ep"),
             ("encap 64B txonly 1flow 1M-ep", "encap 64B txonly 1flow 1k-ep"),
             ("encap 64B pcap 10k-flows 1M-ep", "encap 64B pcap 1flow 1k-ep")]
    for x, ref in pairs:
        for s in ("vswitch", "vswitch-b", "ovs"):
            if (x, s) in by and (ref, s) in by:
                own.append("| %s | %s | %.0f%% of '%s' |" % (
                    x, LABEL[s], 100 * by[(x, s)]["mpps"] / by[(ref, s)]["mpps"], ref))
    if own:
        rows += ["", "| case | system | against its own reference |", "|---|---|---|"] + own
    return "\n".join(rows)


def chart(b, a):
    dat = os.path.join(a.out, "results.dat")
    cases = []
    for r in b.results:
        if r["case"] not in cases:
            cases.append(r["case"])
    by = {(r["case"], r["system"]): r for r in b.results}
    with open(dat, "w") as f:
        f.write("# case %s\n" % " ".join(SYSTEMS))
        for c in cases:
            f.write('"%s" %s\n' % (c, " ".join(
                "%.3f" % by[(c, s)]["mpps"] if (c, s) in by else "NaN" for s in SYSTEMS)))
    png = os.path.join(a.out, "bench.png")
    script = """set terminal pngcairo size 1400,600 noenhanced
set output '%s'
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set ylabel 'Mpps (median; one polling core)'
set title 'dpdk-vswitch vs OVS-DPDK vs testpmd io (upper bound), %s'
set xtics rotate by -25
set key top right
set grid ytics
plot %s
""" % (png, time.strftime("%Y-%m-%d"), ", ".join(   # gnuplot refuses a column of NaN only
        "'%s' using %d%s title '%s'" % (dat, 2 + i, ":xtic(1)" if not k else "", LABEL[s])
        for k, (i, s) in enumerate((i, s) for i, s in enumerate(SYSTEMS)
                                   if any(r["system"] == s for r in b.results))))
    subprocess.run(["gnuplot"], input=script, text=True, check=True)
    return png


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=os.environ.get("VS_BUILD_DIR", os.path.join(REPO, "build")))
    ap.add_argument("--out", default=os.path.join(os.getcwd(), "bench-results"))
    ap.add_argument("--quick", action="store_true", help="1 window of 3 s, few cases")
    ap.add_argument("--windows", type=int, default=3)
    ap.add_argument("--window", type=float, default=10.0, help="seconds")
    ap.add_argument("--warmup", type=float, default=3.0, help="seconds")
    ap.add_argument("--decap-sizes", default="64,512,1500")
    ap.add_argument("--no-capture", action="store_true")
    ap.add_argument("--capture-only", action="store_true")
    ap.add_argument("--cases", help="run only the cases whose name matches this regex")
    ap.add_argument("--vm-ring", type=int, default=256,
                    help="descriptors in the VM's virtio ring (QEMU's default is 256)")
    ap.add_argument("--build-b", help="a second dpdk-vswitch build, measured as system "
                    "vswitch-b in the same run (to compare a change)")
    ap.add_argument("--systems", help="comma-separated: only these of %s" % ",".join(SYSTEMS))
    ap.add_argument("--max-repeats", type=int, default=4,
                    help="extra windows per case when some did not get their CPU")
    ap.add_argument("--starved", type=float, default=0.03,
                    help="repeat a window in which the poller or generator waited this share")
    ap.add_argument("--host-slow", type=float, default=2.0,
                    help="repeat a window in which the host probe ran on average this much "
                    "slower than its best in the run")
    ap.add_argument("--far", type=float, default=2.0,
                    help="repeat a window in which a cache line took this many times longer "
                    "to go from CPU 0 to CPU 1 than the run's nearest placement")
    ap.add_argument("--group-by-system", action="store_true",
                    help="start each system once per group of cases (faster) instead of "
                    "running every case on all systems in turn")
    a = ap.parse_args()
    if a.quick:
        a.windows, a.window, a.warmup = 1, 3.0, 1.0
    a.decap_sizes = [int(x) for x in a.decap_sizes.split(",")]
    if a.systems:
        a.systems = a.systems.split(",")
        bad = [x for x in a.systems if x not in SYSTEMS]
        if bad:
            sys.exit("--systems: unknown %s (known: %s)" % (",".join(bad), ",".join(SYSTEMS)))
    if a.build_b:
        a.build_b = os.path.abspath(a.build_b)
        LABEL["vswitch-b"] = "dpdk-vswitch B (%s)" % os.path.basename(a.build_b)
    elif a.systems and "vswitch-b" in a.systems:
        sys.exit("--systems vswitch-b needs --build-b DIR")
    else:
        a.systems = [x for x in (a.systems or SYSTEMS) if x != "vswitch-b"]
    a.out = os.path.abspath(a.out)
    os.makedirs(a.out, exist_ok=True)
    for tool in ("dpdk-testpmd", "ovs-vswitchd", "tshark", "gnuplot"):
        if shutil.which(tool) is None:
            sys.exit("%s missing: run bench/deps.sh" % tool)
    b = Bench(a)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    t_start = time.time()
    try:
        log("run dir %s" % b.dir)
        pcaps = make_pcaps(b, a)
        cap = "" if a.no_capture else b.capture(pcaps)
        if cap:
            log(cap)
        if a.capture_only:
            return
        groups = plan(a, pcaps)
        if not groups:
            raise SystemExit("bench: no case matches --cases %r and --systems %r%s" % (
                a.cases, a.systems, " (--quick runs only the 64 B cases)" if a.quick else ""))
        i = 0
        for grp in groups:
            if a.group_by_system or len(grp["systems"]) == 1:
                systems = list(grp["systems"])
                k = i % len(systems)     # rotate who goes first
                for s in systems[k:] + systems[:k]:
                    b.run_group(s, grp)
                i += 1
                continue
            for c in grp["cases"]:   # all systems see each case at nearly the same time
                b.run_interleaved(dict(grp, cases=[c]), i)
                i += 1
        t = table(b, a)
        head = ("%s, %s, one polling core, %d × %.0f s windows after %.0f s warm-up; "
                "baseline bursts %d (encap) / %d (decap); TSC %.3f GHz") % (
            time.strftime("%Y-%m-%d %H:%M"), os.uname().nodename, a.windows, a.window, a.warmup,
            base_burst(dict(dir="encap")), base_burst(dict(dir="decap")), (b.tsc_hz or 0) / 1e9)
        log("\n" + head + "\n\n" + t + "\n")
        with open(os.path.join(a.out, "results.md"), "w") as f:
            f.write(head + "\n\n" + t + "\n\n" + cap + "\n")
        with open(os.path.join(a.out, "results.json"), "w") as f:
            json.dump(dict(head=head, results=b.results), f, indent=1)
        log("chart %s; total %.0f s" % (chart(b, a), time.time() - t_start))
    except Exception as e:
        log("bench failed: %s" % e)
        for name in list(b.procs):
            log("--- %s log tail ---\n%s" % (name, b.logtail(name)))
        raise
    finally:
        b.cleanup()
        if not os.environ.get("VSBENCH_KEEP"):
            shutil.rmtree(b.dir, ignore_errors=True)


if __name__ == "__main__":
    main()
