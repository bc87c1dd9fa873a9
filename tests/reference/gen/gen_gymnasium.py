#!/usr/bin/env python3
"""Regenerate gymnasium_classic_control.json.

Runs CartPole-v1, Pendulum-v1, MountainCar-v0 and Acrobot-v1 (made with
``gym.make(id)``, default wrappers kept) from ``env.reset(seed=s)``, s = 0, 1, 2,
for up to 200 steps of a fixed pseudo-random action sequence drawn from
``numpy.random.default_rng(20240601 + s)``:

* discrete envs: ``rng.integers(0, n_actions, size=200)``
* Pendulum: ``rng.uniform(-2, 2, size=200).astype(float32)``, passed as
  ``np.array([a], float32)``

A trajectory stops at the first step where terminated or truncated is true.

The ``self_check`` section replays every stored step from the stored previous
state with an independent plain-Python (``math``) re-implementation of the
``rules`` written into the file, and records the largest deviation.

Usage: gen_gymnasium.py [OUTPUT_JSON]   (default: ./out/gymnasium_classic_control.json)
"""

import hashlib
import json
import math
import os
import platform
import sys

import gymnasium as gym
import numpy as np

N_STEPS = 200
SEEDS = (0, 1, 2)
ACTION_SEED_BASE = 20240601

ENV_IDS = ("CartPole-v1", "Pendulum-v1", "MountainCar-v0", "Acrobot-v1")

SOURCE_FILES = {
    "CartPole-v1": "cartpole.py",
    "Pendulum-v1": "pendulum.py",
    "MountainCar-v0": "mountain_car.py",
    "Acrobot-v1": "acrobot.py",
}


def f64_list(a):
    """Exact float64 values of an array (float32 values are exact in float64)."""
    return [float(x) for x in np.asarray(a).ravel()]


def source_sha256(env):
    path = sys.modules[type(env.unwrapped).__module__].__file__
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


# ---------------------------------------------------------------------------
# constants read from the installed environment objects
# ---------------------------------------------------------------------------


def constants_cartpole(u):
    return {
        "gravity": u.gravity,
        "masscart": u.masscart,
        "masspole": u.masspole,
        "total_mass": u.total_mass,
        "length_half_pole": u.length,
        "polemass_length": u.polemass_length,
        "force_mag": u.force_mag,
        "tau": u.tau,
        "kinematics_integrator": u.kinematics_integrator,
        "theta_threshold_radians": u.theta_threshold_radians,
        "x_threshold": u.x_threshold,
        "sutton_barto_reward": u._sutton_barto_reward,
        # hard-coded defaults of reset() (utils.maybe_parse_reset_bounds(options, -0.05, 0.05))
        "reset_uniform_low": -0.05,
        "reset_uniform_high": 0.05,
    }


def constants_pendulum(u):
    mod = sys.modules[type(u).__module__]
    return {
        "max_speed": u.max_speed,
        "max_torque": u.max_torque,
        "dt": u.dt,
        "g": u.g,
        "m": u.m,
        "l": u.l,
        "reset_theta_high": float(mod.DEFAULT_X),
        "reset_thetadot_high": float(mod.DEFAULT_Y),
    }


def constants_mountaincar(u):
    return {
        "min_position": u.min_position,
        "max_position": u.max_position,
        "max_speed": u.max_speed,
        "goal_position": u.goal_position,
        "goal_velocity": u.goal_velocity,
        "force": u.force,
        "gravity": u.gravity,
        # hard-coded defaults of reset()
        "reset_position_low": -0.6,
        "reset_position_high": -0.4,
    }


def constants_acrobot(u):
    return {
        "dt": u.dt,
        "LINK_LENGTH_1": u.LINK_LENGTH_1,
        "LINK_LENGTH_2": u.LINK_LENGTH_2,
        "LINK_MASS_1": u.LINK_MASS_1,
        "LINK_MASS_2": u.LINK_MASS_2,
        "LINK_COM_POS_1": u.LINK_COM_POS_1,
        "LINK_COM_POS_2": u.LINK_COM_POS_2,
        "LINK_MOI": u.LINK_MOI,
        "MAX_VEL_1": u.MAX_VEL_1,
        "MAX_VEL_2": u.MAX_VEL_2,
        "AVAIL_TORQUE": list(u.AVAIL_TORQUE),
        "torque_noise_max": u.torque_noise_max,
        "book_or_nips": u.book_or_nips,
        # local constant inside AcrobotEnv._dsdt
        "g": 9.8,
        # hard-coded defaults of reset()
        "reset_uniform_low": -0.1,
        "reset_uniform_high": 0.1,
    }


# ---------------------------------------------------------------------------
# rules, transcribed from the installed source files
# ---------------------------------------------------------------------------

RULES = {
    "CartPole-v1": {
        "state": "[x, x_dot, theta, theta_dot], float64 internally",
        "obs": "float32(state)",
        "reset": "state ~ U(-0.05, 0.05)^4 (float64), from env.np_random seeded by reset(seed)",
        "step": [
            "force = force_mag if action == 1 else -force_mag",
            "costheta = cos(theta); sintheta = sin(theta)",
            "temp = (force + polemass_length * theta_dot**2 * sintheta) / total_mass",
            "thetaacc = (gravity * sintheta - costheta * temp) / (length_half_pole * (4/3 - masspole * costheta**2 / total_mass))",
            "xacc = temp - polemass_length * thetaacc * costheta / total_mass",
            "euler (kinematics_integrator == 'euler'), all right-hand sides use the OLD values:",
            "x = x + tau * x_dot; x_dot = x_dot + tau * xacc; theta = theta + tau * theta_dot; theta_dot = theta_dot + tau * thetaacc",
        ],
        "terminated": "x < -x_threshold or x > x_threshold or theta < -theta_threshold_radians or theta > theta_threshold_radians (checked on the NEW state)",
        "reward": "1.0 on every step, including the terminating step (sutton_barto_reward=False)",
        "truncated": "TimeLimit wrapper: max_episode_steps = 500 (never reached in 200 steps)",
        "after_termination": "gymnasium warns and returns reward 0.0; these trajectories stop at termination",
    },
    "Pendulum-v1": {
        "state": "[th, thdot], float64 internally",
        "obs": "float32([cos(th), sin(th), thdot])",
        "reset": "th ~ U(-pi, pi), thdot ~ U(-1, 1) (float64)",
        "step": [
            "u = clip(action[0], -max_torque, max_torque)  (action is float32; its value is exact in float64)",
            "costs = angle_normalize(th)**2 + 0.1 * thdot**2 + 0.001 * u**2, angle_normalize(x) = ((x + pi) mod 2pi) - pi (Python/numpy floor-mod, result in [-pi, pi))",
            "   numpy detail: u is a float32 scalar, so 0.001 * u**2 is evaluated in float32 (f32(f32(0.001) * f32(u*u))) before being added to the float64 terms",
            "newthdot = thdot + (3 * g / (2 * l) * sin(th) + 3.0 / (m * l**2) * u) * dt",
            "   numpy detail: 3.0 / (m * l**2) * u is evaluated in float32 (f32(3.0 * u)), then added to the float64 gravity term; the rest is float64",
            "newthdot = clip(newthdot, -max_speed, max_speed)",
            "newth = th + newthdot * dt   (th is NOT wrapped in the state)",
        ],
        "reward": "-costs (computed from the OLD state and u)",
        "terminated": "never",
        "truncated": "TimeLimit wrapper: True on step 200 (max_episode_steps = 200)",
        "note": "ignoring the two float32 details above changes the state by up to ~1e-8 per step and the reward by ~4e-10; a float64-only implementation should therefore be compared with the float32 tolerance on obs (see README)",
    },
    "MountainCar-v0": {
        "state": "[position, velocity], float64 internally",
        "obs": "float32(state)",
        "reset": "position ~ U(-0.6, -0.4) (float64), velocity = 0",
        "step": [
            "velocity += (action - 1) * force + cos(3 * position) * (-gravity)",
            "velocity = clip(velocity, -max_speed, max_speed)",
            "position += velocity",
            "position = clip(position, min_position, max_position)",
            "if position == min_position and velocity < 0: velocity = 0",
        ],
        "terminated": "position >= goal_position and velocity >= goal_velocity",
        "reward": "-1.0 on every step",
        "truncated": "TimeLimit wrapper: True on step 200 (max_episode_steps = 200)",
    },
    "Acrobot-v1": {
        "state": "[theta1, theta2, dtheta1, dtheta2]; float32 right after reset (values stored exactly), float64 after the first step",
        "obs": "float32([cos(theta1), sin(theta1), cos(theta2), sin(theta2), dtheta1, dtheta2])",
        "reset": "state ~ U(-0.1, 0.1)^4, cast to float32",
        "step": [
            "torque = AVAIL_TORQUE[action]   (torque_noise_max = 0 so no noise)",
            "one classic RK4 step of size dt on y = [theta1, theta2, dtheta1, dtheta2, torque] with derivs() below (d torque/dt = 0):",
            "  k1 = f(y); k2 = f(y + dt/2*k1); k3 = f(y + dt/2*k2); k4 = f(y + dt*k3); y' = y + dt/6*(k1 + 2*k2 + 2*k3 + k4)",
            "derivs(theta1, theta2, dtheta1, dtheta2, a), m1=LINK_MASS_1, m2=LINK_MASS_2, l1=LINK_LENGTH_1, lc1=LINK_COM_POS_1, lc2=LINK_COM_POS_2, I1=I2=LINK_MOI, g=9.8:",
            "  d1 = m1*lc1**2 + m2*(l1**2 + lc2**2 + 2*l1*lc2*cos(theta2)) + I1 + I2",
            "  d2 = m2*(lc2**2 + l1*lc2*cos(theta2)) + I2",
            "  phi2 = m2*lc2*g*cos(theta1 + theta2 - pi/2)",
            "  phi1 = -m2*l1*lc2*dtheta2**2*sin(theta2) - 2*m2*l1*lc2*dtheta2*dtheta1*sin(theta2) + (m1*lc1 + m2*l1)*g*cos(theta1 - pi/2) + phi2",
            "  ddtheta2 = (a + d2/d1*phi1 - m2*l1*lc2*dtheta1**2*sin(theta2) - phi2) / (m2*lc2**2 + I2 - d2**2/d1)   ('book' variant)",
            "  ddtheta1 = -(d2*ddtheta2 + phi1) / d1",
            "  return (dtheta1, dtheta2, ddtheta1, ddtheta2, 0)",
            "theta1 = wrap(theta1, -pi, pi); theta2 = wrap(theta2, -pi, pi) with wrap: while x > M: x -= (M-m); while x < m: x += (M-m)",
            "dtheta1 = min(max(dtheta1, -MAX_VEL_1), MAX_VEL_1); dtheta2 = min(max(dtheta2, -MAX_VEL_2), MAX_VEL_2)",
        ],
        "terminated": "-cos(theta1) - cos(theta2 + theta1) > 1.0 (NEW state)",
        "reward": "-1.0 if not terminated else 0.0",
        "truncated": "TimeLimit wrapper: max_episode_steps = 500 (never reached in 200 steps)",
    },
}

CONSTANTS = {
    "CartPole-v1": constants_cartpole,
    "Pendulum-v1": constants_pendulum,
    "MountainCar-v0": constants_mountaincar,
    "Acrobot-v1": constants_acrobot,
}


# ---------------------------------------------------------------------------
# trajectories
# ---------------------------------------------------------------------------


def make_actions(env_id, env, seed):
    rng = np.random.default_rng(ACTION_SEED_BASE + seed)
    if env_id == "Pendulum-v1":
        return rng.uniform(-2.0, 2.0, size=N_STEPS).astype(np.float32)
    return rng.integers(0, env.action_space.n, size=N_STEPS)


def run_trajectory(env_id, seed):
    env = gym.make(env_id)
    obs, _ = env.reset(seed=seed)
    initial_state = f64_list(env.unwrapped.state)
    actions = make_actions(env_id, env, seed)
    steps = []
    ended_by = "step_limit_%d" % N_STEPS
    for k in range(N_STEPS):
        a = actions[k]
        if env_id == "Pendulum-v1":
            act = np.array([a], dtype=np.float32)
            a_json = float(a)
        else:
            act = int(a)
            a_json = int(a)
        obs_k, reward, terminated, truncated, _ = env.step(act)
        steps.append(
            {
                "t": k + 1,
                "action": a_json,
                "obs": f64_list(obs_k),
                "state": f64_list(env.unwrapped.state),
                "reward": float(reward),
                "terminated": bool(terminated),
                "truncated": bool(truncated),
            }
        )
        if terminated or truncated:
            ended_by = "terminated" if terminated else "truncated"
            break
    env.close()
    return {
        "reset_seed": seed,
        "action_rng": "numpy.random.default_rng(%d)" % (ACTION_SEED_BASE + seed),
        "actions": [s["action"] for s in steps],
        "initial_obs": f64_list(obs),
        "initial_state": initial_state,
        "n_steps": len(steps),
        "ended_by": ended_by,
        "steps": steps,
    }


# ---------------------------------------------------------------------------
# self-check: plain-Python re-implementation of RULES, one step at a time
# ---------------------------------------------------------------------------


def f32(x):
    return float(np.float32(x))


def step_cartpole(c, s, action):
    x, x_dot, theta, theta_dot = s
    force = c["force_mag"] if action == 1 else -c["force_mag"]
    costheta = math.cos(theta)
    sintheta = math.sin(theta)
    temp = (force + c["polemass_length"] * theta_dot**2 * sintheta) / c["total_mass"]
    thetaacc = (c["gravity"] * sintheta - costheta * temp) / (
        c["length_half_pole"] * (4.0 / 3.0 - c["masspole"] * costheta**2 / c["total_mass"])
    )
    xacc = temp - c["polemass_length"] * thetaacc * costheta / c["total_mass"]
    tau = c["tau"]
    ns = [x + tau * x_dot, x_dot + tau * xacc, theta + tau * theta_dot, theta_dot + tau * thetaacc]
    terminated = (
        ns[0] < -c["x_threshold"]
        or ns[0] > c["x_threshold"]
        or ns[2] < -c["theta_threshold_radians"]
        or ns[2] > c["theta_threshold_radians"]
    )
    obs = [f32(v) for v in ns]
    return ns, obs, 1.0, terminated


def step_pendulum(c, s, action):
    th, thdot = s
    u = min(max(action, -c["max_torque"]), c["max_torque"])
    an = ((th + math.pi) % (2 * math.pi)) - math.pi
    # float32 detail of the cost, as written in the rules: f32(f32(0.001) * f32(u*u))
    costs = an**2 + 0.1 * thdot**2 + f32(f32(0.001) * f32(u * u))
    g, m, l, dt = c["g"], c["m"], c["l"], c["dt"]
    newthdot = thdot + (3 * g / (2 * l) * math.sin(th) + f32(3.0 / (m * l**2) * u)) * dt
    newthdot = min(max(newthdot, -c["max_speed"]), c["max_speed"])
    newth = th + newthdot * dt
    ns = [newth, newthdot]
    obs = [f32(math.cos(newth)), f32(math.sin(newth)), f32(newthdot)]
    return ns, obs, -costs, False


def step_mountaincar(c, s, action):
    position, velocity = s
    velocity += (action - 1) * c["force"] + math.cos(3 * position) * (-c["gravity"])
    velocity = min(max(velocity, -c["max_speed"]), c["max_speed"])
    position += velocity
    position = min(max(position, c["min_position"]), c["max_position"])
    if position == c["min_position"] and velocity < 0:
        velocity = 0.0
    terminated = position >= c["goal_position"] and velocity >= c["goal_velocity"]
    ns = [position, velocity]
    return ns, [f32(v) for v in ns], -1.0, terminated


def acrobot_derivs(c, y):
    m1, m2 = c["LINK_MASS_1"], c["LINK_MASS_2"]
    l1 = c["LINK_LENGTH_1"]
    lc1, lc2 = c["LINK_COM_POS_1"], c["LINK_COM_POS_2"]
    I1 = I2 = c["LINK_MOI"]
    g = c["g"]
    theta1, theta2, dtheta1, dtheta2, a = y
    d1 = m1 * lc1**2 + m2 * (l1**2 + lc2**2 + 2 * l1 * lc2 * math.cos(theta2)) + I1 + I2
    d2 = m2 * (lc2**2 + l1 * lc2 * math.cos(theta2)) + I2
    phi2 = m2 * lc2 * g * math.cos(theta1 + theta2 - math.pi / 2.0)
    phi1 = (
        -m2 * l1 * lc2 * dtheta2**2 * math.sin(theta2)
        - 2 * m2 * l1 * lc2 * dtheta2 * dtheta1 * math.sin(theta2)
        + (m1 * lc1 + m2 * l1) * g * math.cos(theta1 - math.pi / 2)
        + phi2
    )
    ddtheta2 = (a + d2 / d1 * phi1 - m2 * l1 * lc2 * dtheta1**2 * math.sin(theta2) - phi2) / (
        m2 * lc2**2 + I2 - d2**2 / d1
    )
    ddtheta1 = -(d2 * ddtheta2 + phi1) / d1
    return [dtheta1, dtheta2, ddtheta1, ddtheta2, 0.0]


def step_acrobot(c, s, action):
    dt = c["dt"]
    y = list(s) + [float(c["AVAIL_TORQUE"][action])]
    k1 = acrobot_derivs(c, y)
    k2 = acrobot_derivs(c, [yi + dt / 2.0 * ki for yi, ki in zip(y, k1)])
    k3 = acrobot_derivs(c, [yi + dt / 2.0 * ki for yi, ki in zip(y, k2)])
    k4 = acrobot_derivs(c, [yi + dt * ki for yi, ki in zip(y, k3)])
    ns = [
        yi + dt / 6.0 * (((a + 2 * b) + 2 * cc) + d)
        for yi, a, b, cc, d in zip(y, k1, k2, k3, k4)
    ][:4]

    def wrap(x, m, M):
        diff = M - m
        while x > M:
            x = x - diff
        while x < m:
            x = x + diff
        return x

    ns[0] = wrap(ns[0], -math.pi, math.pi)
    ns[1] = wrap(ns[1], -math.pi, math.pi)
    ns[2] = min(max(ns[2], -c["MAX_VEL_1"]), c["MAX_VEL_1"])
    ns[3] = min(max(ns[3], -c["MAX_VEL_2"]), c["MAX_VEL_2"])
    terminated = -math.cos(ns[0]) - math.cos(ns[1] + ns[0]) > 1.0
    obs = [f32(v) for v in (math.cos(ns[0]), math.sin(ns[0]), math.cos(ns[1]), math.sin(ns[1]), ns[2], ns[3])]
    return ns, obs, (-1.0 if not terminated else 0.0), terminated


STEP = {
    "CartPole-v1": step_cartpole,
    "Pendulum-v1": step_pendulum,
    "MountainCar-v0": step_mountaincar,
    "Acrobot-v1": step_acrobot,
}


def self_check(env_id, entry):
    c = entry["constants"]
    step = STEP[env_id]
    max_s = max_o = max_r = 0.0
    flags_ok = True
    for tr in entry["trajectories"]:
        prev = tr["initial_state"]
        for st in tr["steps"]:
            ns, obs, reward, terminated = step(c, prev, st["action"])
            max_s = max(max_s, max(abs(a - b) for a, b in zip(ns, st["state"])))
            max_o = max(max_o, max(abs(a - b) for a, b in zip(obs, st["obs"])))
            max_r = max(max_r, abs(reward - st["reward"]))
            flags_ok = flags_ok and (bool(terminated) == st["terminated"])
            prev = st["state"]
    return {
        "max_abs_state_err": max_s,
        "max_abs_obs_err": max_o,
        "max_abs_reward_err": max_r,
        "terminated_flags_match": flags_ok,
    }


SCHEMA = {
    "description": "Gymnasium classic-control reference trajectories",
    "envs.<id>.trajectories[i]": "one episode from env.reset(seed=reset_seed)",
    "initial_obs / initial_state": "obs returned by reset, internal env.unwrapped.state after reset (float64 numbers; float32 values are exact)",
    "steps[k]": "t (1-based step index), action applied, obs returned by step (float32 values written as exact float64), state = internal state after the step (float64), reward, terminated, truncated",
    "actions": "same as [steps[k].action]; Pendulum actions are float32 torques (exact as float64), passed as np.array([a], float32)",
    "stop rule": "trajectory stops at the first terminated or truncated step, else after 200 steps",
    "constants": "read from the installed environment object",
    "rules": "update, reward and termination rules transcribed from the installed source (source_sha256 identifies it)",
    "self_check": "max deviation of an independent float64 Python re-implementation of 'rules', replayed one step at a time from the stored state",
}


def build():
    out = {
        "schema": SCHEMA,
        "generator": "gen_gymnasium.py",
        "versions": {
            "gymnasium": gym.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
        },
        "envs": {},
    }
    for env_id in ENV_IDS:
        env = gym.make(env_id)
        u = env.unwrapped
        entry = {
            "env_class": type(u).__name__,
            "source_file": SOURCE_FILES[env_id],
            "source_sha256": source_sha256(env),
            "max_episode_steps": env.spec.max_episode_steps,
            "observation_dtype": str(env.observation_space.dtype),
            "action_space": str(env.action_space),
            "constants": CONSTANTS[env_id](u),
            "rules": RULES[env_id],
        }
        env.close()
        entry["trajectories"] = [run_trajectory(env_id, s) for s in SEEDS]
        out["envs"][env_id] = entry
    out["self_check"] = {k: self_check(k, v) for k, v in out["envs"].items()}
    out["note"] = "Trajectories for reset seeds 0, 1 and 2 of each environment."
    return out


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "out", "gymnasium_classic_control.json")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    data = build()
    with open(path, "w") as fh:
        json.dump(data, fh)
    sc = data["self_check"]
    for k, v in sc.items():
        print(k, v)
    print("wrote", path)


if __name__ == "__main__":
    main()
