#!/usr/bin/env python3
"""ALFWorld (TextWorld) bridge for skillopt's external environment protocol.

skillopt starts this program (env.env_command in configs/alfworld/
default.yaml) and talks to it in JSON lines, protocol version 1 (see
docs/env-protocol.md).  Each reset loads one game: the item's "gamefile"
(json_2.1.1/<split>/<task>/<trial>/game.tw-pddl), resolved against
$ALFWORLD_DATA the way the reference resolves it, played in an
AlfredTWEnv with batch size 1.

Needs the `alfworld` package (pip install alfworld) and its data
(alfworld-download; then export ALFWORLD_DATA=<that directory>).  Without
them the hello is refused with a message saying what is missing.

Replies carry, in "info": "admissible_actions" (the game's admissible
commands), "won", "task" (the text after "Your task is to: "),
"task_type" and "gamefile".  Anything the alfworld and textworld
packages print goes to stderr: stdout carries protocol lines only.
"""
import json
import os
import sys
import traceback

PROTOCOL = "1.0"
TASK_TYPES = [
    "pick_and_place",
    "pick_two_obj_and_place",
    "look_at_obj_in_light",
    "pick_heat_then_place_in_recep",
    "pick_cool_then_place_in_recep",
    "pick_clean_then_place_in_recep",
]

# Protocol lines go to the original stdout; everything else that writes
# to stdout (alfworld and textworld print progress) lands on stderr.
_proto = os.fdopen(os.dup(1), "w", encoding="utf-8")
os.dup2(2, 1)
sys.stdout = sys.stderr


def log(msg):
    sys.stderr.write("alfworld_env: %s\n" % msg)
    sys.stderr.flush()


def send(obj):
    _proto.write(json.dumps(obj) + "\n")
    _proto.flush()


def resolve_gamefile(gamefile):
    """An absolute path stays; a relative one is taken from $ALFWORLD_DATA
    (left as it is when the variable is unset), as the reference does."""
    path = os.path.expanduser(os.path.expandvars(str(gamefile)))
    if os.path.isabs(path):
        return path
    root = os.environ.get("ALFWORLD_DATA", "").strip()
    if not root:
        return path
    root = os.path.expanduser(os.path.expandvars(root))
    return os.path.abspath(os.path.join(root, path))


def task_type_of(gamefile):
    for t in TASK_TYPES:
        if t in gamefile:
            return t
    return "other"


def split_of(gamefile):
    """The AlfredTWEnv dataset of a game, from its path (as the reference
    tells train from valid_seen and valid_unseen)."""
    if "/valid_seen/" in gamefile:
        return "eval_in_distribution"
    if "/valid_unseen/" in gamefile:
        return "eval_out_of_distribution"
    return "train"


def make_config(data_root, game_dir, max_steps):
    """An AlfredTWEnv configuration equivalent to the reference's for the
    text games.  The dataset paths point at the game's own directory, so
    building the environment scans one game instead of a whole split."""
    steps = int(max_steps) + 1  # skillopt's step limit comes first
    return {
        "dataset": {
            "data_path": game_dir,
            "eval_id_data_path": game_dir,
            "eval_ood_data_path": game_dir,
            "num_train_games": -1,
            "num_eval_games": -1,
        },
        "logic": {
            "domain": os.path.join(data_root, "logic", "alfred.pddl"),
            "grammar": os.path.join(data_root, "logic", "alfred.twl2"),
        },
        "env": {
            "type": "AlfredTWEnv",
            "regen_game_files": False,
            "domain_randomization": False,
            "task_types": [1, 2, 3, 4, 5, 6],
            "expert_timeout_steps": 150,
            "expert_type": "handcoded",
            "goal_desc_human_anns_prob": 0.0,
        },
        "general": {
            "random_seed": 42,
            "use_cuda": False,
            "training_method": "dagger",
            "observation_pool_capacity": 3,
            "hide_init_receptacles": False,
        },
        "rl": {"training": {"max_nb_steps_per_episode": steps}},
        "dagger": {"training": {"max_nb_steps_per_episode": steps}},
    }


def first(v):
    """The single element of a batch-of-one value."""
    if isinstance(v, (list, tuple)):
        return v[0] if v else None
    return v


def unbatch(infos):
    return {k: first(v) for k, v in dict(infos or {}).items()}


def jsonable(v):
    try:
        json.dumps(v)
        return v
    except (TypeError, ValueError):
        return str(v)


class Bridge:
    def __init__(self):
        self.env = None
        self.get_environment = None

    def hello(self, req):
        try:
            from alfworld.agents.environment import get_environment
        except ImportError as e:
            msg = ("the alfworld package is not installed for %s (%s): "
                   "pip install alfworld, then alfworld-download and "
                   "export ALFWORLD_DATA" % (sys.executable, e))
            log(msg)
            return {"error": msg}
        root = os.environ.get("ALFWORLD_DATA", "").strip()
        if not root:
            msg = ("ALFWORLD_DATA is not set: run alfworld-download and "
                   "export ALFWORLD_DATA=<its directory>")
            log(msg)
            return {"error": msg}
        domain = os.path.join(os.path.expanduser(root), "logic",
                              "alfred.pddl")
        if not os.path.isfile(domain):
            msg = "%s is missing: is ALFWORLD_DATA right?" % domain
            log(msg)
            return {"error": msg}
        self.get_environment = get_environment
        return {"protocol": PROTOCOL, "name": "alfworld"}

    def close_env(self):
        if self.env is not None:
            try:
                self.env.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass
            self.env = None

    def reset(self, req):
        item = req.get("item") or {}
        raw = str(item.get("gamefile") or "")
        if not raw:
            return {"error": "the item has no gamefile"}
        gamefile = resolve_gamefile(raw)
        if not os.path.isfile(gamefile):
            return {"error": "game file not found: %s" % gamefile}
        self.close_env()
        root = os.path.expanduser(os.environ["ALFWORLD_DATA"].strip())
        config = make_config(root, os.path.dirname(gamefile),
                             req.get("max_steps") or 50)
        base = self.get_environment("AlfredTWEnv")(
            config, train_eval=split_of(gamefile))
        base.game_files = [gamefile]
        base.num_games = 1
        self.env = base.init_env(batch_size=1)
        self.env.seed(int(req.get("seed") or 0))
        obs, infos = self.env.reset()
        obs = str(first(obs))
        info = unbatch(infos)
        start = obs.find("Your task is to: ")
        task = obs[start + len("Your task is to: "):].strip() if start >= 0 \
            else ""
        return {"observation": obs, "info": {
            "task": task,
            "task_type": str(item.get("task_type") or task_type_of(gamefile)),
            "gamefile": gamefile,
            "won": bool(info.get("won", False)),
            "admissible_actions": [str(a) for a in
                                   info.get("admissible_commands") or []],
        }}

    def step(self, req):
        if self.env is None:
            return {"error": "step before reset"}
        obs, scores, dones, infos = self.env.step([str(req.get("action", ""))])
        info = unbatch(infos)
        won = bool(info.get("won", False))
        return {"observation": str(first(obs)),
                "reward": 10.0 * float(won),  # the reference's reward
                "done": bool(first(dones)),
                "info": {"won": won,
                         "admissible_actions": [
                             str(a) for a in
                             info.get("admissible_commands") or []],
                         "score": jsonable(first(scores))}}


def main():
    bridge = Bridge()
    while True:
        line = sys.stdin.readline()
        if not line:
            break  # skillopt closed our stdin
        try:
            req = json.loads(line)
        except ValueError:
            send({"error": "request is not JSON"})
            continue
        kind = req.get("type") if isinstance(req, dict) else None
        try:
            if kind == "hello":
                reply = bridge.hello(req)
                send(reply)
                if "error" in reply:
                    return 2
            elif kind == "reset":
                send(bridge.reset(req))
            elif kind == "step":
                send(bridge.step(req))
            elif kind == "close":
                bridge.close_env()
                send({"ok": True})
                return 0
            else:
                send({"error": "unknown request type %r" % (kind,)})
        except Exception as e:  # noqa: BLE001 - reported, process stays up
            traceback.print_exc(file=sys.stderr)
            send({"error": "%s: %s" % (type(e).__name__, e)})
    bridge.close_env()
    return 0


if __name__ == "__main__":
    sys.exit(main())
