//! Gymnasium's classic-control environments with their exact dynamics, rewards, termination and
//! time limits: CartPole-v1, Pendulum-v1, MountainCar-v0 and Acrobot-v1 (Gymnasium 1.x, as
//! transcribed in `tests/reference/gymnasium_classic_control.json`, `rules`). Each is
//! exported as its own environment plugin (`cartpole`, `pendulum`, `mountaincar`, `acrobot`),
//! since a plugin library exports one plugin; this crate holds the code they share.
//!
//! # Faithfulness
//!
//! - The state is float64 and every update uses Gymnasium's operation order, so a step from the
//!   same state gives the same float64 state (the tests replay Gymnasium's trajectories).
//! - Observations are float32, as in Gymnasium: each value is rounded to `f32` and handed over
//!   as the exact `f64` of that `f32`.
//! - Squares are taken as Gymnasium takes them: `x**2` of a numpy scalar is the C library's
//!   `pow(x, 2)` (not always the correctly rounded `x * x`), `np.square(x)` is `x * x`; see
//!   [`pow2`]. Otherwise the ulp-level differences of `pow` grow, in Acrobot's chaotic
//!   dynamics, into visible differences of the float32 observation within a few hundred steps.
//! - Pendulum's action is a float32 torque: `3.0·u` and `0.001·u²` are evaluated in float32,
//!   as numpy does. θ is not wrapped in the state; the reward uses the old state.
//! - The time limit (Gymnasium's `TimeLimit` wrapper) sets `truncated` on step `max_steps`
//!   (500 for CartPole and Acrobot, 200 for Pendulum and MountainCar), independently of
//!   `terminated`: a step can report both, as in Gymnasium.
//!
//! # Differences
//!
//! - `reset(seed)` draws the initial state from the same distributions as Gymnasium, but from a
//!   SplitMix64 stream seeded with `seed`, not numpy's PCG64, so a seed gives another state
//!   than Gymnasium's. To reproduce a Gymnasium trajectory, set the state with `load`.
//! - Stepping after the episode ended (terminated or truncated) is an error (Gymnasium warns
//!   and goes on); call `reset`.
//!
//! # State, `save` and `load`
//!
//! `save` writes JSON: `{"state": [...], "steps": k, "done": false}` with the internal state
//! (CartPole `[x, ẋ, θ, θ̇]`, Pendulum `[θ, θ̇]`, MountainCar `[position, velocity]`, Acrobot
//! `[θ1, θ2, θ̇1, θ̇2]`), the steps taken in the episode and whether it has ended. `load` reads
//! the same; `steps` and `done` may be left out (0 and false), so `{"state": [...]}` starts an
//! episode from a given state. `snnsim env replay` is built on this.

#![warn(missing_docs)]

use serde::{Deserialize, Serialize};
use snnsim_plugin_api::{ActionSpace, Environment, Spaces, Transition};
use std::f64::consts::PI;
use std::marker::PhantomData;

/// The dynamics of one environment, without the episode bookkeeping.
pub trait Dynamics: Send + 'static {
    /// The plugin's name.
    const NAME: &'static str;
    /// Length of the internal state.
    const STATE_LEN: usize;
    /// Length of the observation.
    const OBS_LEN: usize;
    /// Gymnasium's `max_episode_steps`.
    const MAX_STEPS: usize;
    /// The action space.
    const ACTION: ActionSpace;
    /// Draws an initial state.
    fn reset(rng: &mut SplitMix64, state: &mut [f64]);
    /// Applies one (already checked) action; returns the reward and `terminated`.
    fn step(state: &mut [f64], action: Action) -> (f64, bool);
    /// Writes the observation of `state` (float64, before the float32 rounding).
    fn observe(state: &[f64], obs: &mut [f64]);
}

/// An action, checked against the action space.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Action {
    /// A discrete action's index.
    Discrete(usize),
    /// A continuous action, as the float32 Gymnasium receives.
    Continuous(f32),
}

/// Parameters shared by the four environments.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Params {
    /// Steps after which an episode is truncated; default Gymnasium's (at least 1).
    pub max_steps: Option<usize>,
}

/// The state `save` writes and `load` reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Saved {
    /// The internal state.
    pub state: Vec<f64>,
    /// Steps taken in the episode.
    #[serde(default)]
    pub steps: usize,
    /// The episode has ended.
    #[serde(default)]
    pub done: bool,
}

/// An environment: dynamics `D` with Gymnasium's time limit.
#[derive(Debug, Clone)]
pub struct Env<D: Dynamics> {
    max_steps: usize,
    state: Vec<f64>,
    steps: usize,
    started: bool,
    done: bool,
    _d: PhantomData<D>,
}

/// CartPole-v1 (Barto, Sutton & Anderson 1983).
pub type CartPole = Env<CartPoleDynamics>;
/// Pendulum-v1.
pub type Pendulum = Env<PendulumDynamics>;
/// MountainCar-v0 (Moore 1990).
pub type MountainCar = Env<MountainCarDynamics>;
/// Acrobot-v1 (Sutton 1996; the "book" dynamics of Sutton & Barto 1998).
pub type Acrobot = Env<AcrobotDynamics>;

impl<D: Dynamics> Env<D> {
    /// The internal state.
    pub fn state(&self) -> &[f64] {
        &self.state
    }

    /// Sets the internal state and starts an episode from it (step count 0).
    pub fn set_state(&mut self, state: &[f64]) -> Result<(), String> {
        self.restore(Saved {
            state: state.to_vec(),
            steps: 0,
            done: false,
        })
    }

    fn restore(&mut self, s: Saved) -> Result<(), String> {
        if s.state.len() != D::STATE_LEN {
            return Err(format!(
                "{}: the state has {} values, expected {}",
                D::NAME,
                s.state.len(),
                D::STATE_LEN
            ));
        }
        if let Some(i) = s.state.iter().position(|x| !x.is_finite()) {
            return Err(format!("{}: state[{i}] is not a finite number", D::NAME));
        }
        self.state = s.state;
        self.steps = s.steps;
        self.done = s.done;
        self.started = true;
        Ok(())
    }

    fn write_obs(&self, obs: &mut [f64]) -> Result<(), String> {
        if obs.len() != D::OBS_LEN {
            return Err(format!(
                "{}: the observation buffer has {} values, expected {}",
                D::NAME,
                obs.len(),
                D::OBS_LEN
            ));
        }
        D::observe(&self.state, obs);
        for o in obs.iter_mut() {
            *o = f64::from(*o as f32);
        }
        Ok(())
    }

    fn action(values: &[f64]) -> Result<Action, String> {
        let [v] = values else {
            return Err(format!(
                "{}: an action is one value, got {}",
                D::NAME,
                values.len()
            ));
        };
        match D::ACTION {
            ActionSpace::Discrete(n) => {
                if v.fract() == 0.0 && *v >= 0.0 && *v < n as f64 {
                    Ok(Action::Discrete(*v as usize))
                } else {
                    Err(format!(
                        "{}: action {v} is not one of the integers 0..{n}",
                        D::NAME
                    ))
                }
            }
            ActionSpace::Continuous(_) => {
                if v.is_finite() {
                    Ok(Action::Continuous(*v as f32))
                } else {
                    Err(format!("{}: action {v} is not a finite number", D::NAME))
                }
            }
        }
    }
}

impl<D: Dynamics> Environment for Env<D> {
    type Config = Params;

    fn new(config: Params) -> Result<Self, String> {
        let max_steps = config.max_steps.unwrap_or(D::MAX_STEPS);
        if max_steps == 0 {
            return Err("params.max_steps: must be at least 1".into());
        }
        Ok(Env {
            max_steps,
            state: vec![0.0; D::STATE_LEN],
            steps: 0,
            started: false,
            done: false,
            _d: PhantomData,
        })
    }

    fn spaces(&self) -> Spaces {
        Spaces {
            observation_len: D::OBS_LEN,
            action: D::ACTION,
        }
    }

    fn reset(&mut self, seed: u64, obs: &mut [f64]) -> Result<(), String> {
        let mut rng = SplitMix64(seed);
        D::reset(&mut rng, &mut self.state);
        self.steps = 0;
        self.done = false;
        self.started = true;
        self.write_obs(obs)
    }

    fn step(&mut self, action: &[f64], obs: &mut [f64]) -> Result<Transition, String> {
        if !self.started {
            return Err(format!("{}: step before the first reset", D::NAME));
        }
        if self.done {
            return Err(format!(
                "{}: the episode has ended; call reset before stepping",
                D::NAME
            ));
        }
        let a = Self::action(action)?;
        let (reward, terminated) = D::step(&mut self.state, a);
        self.steps += 1;
        let truncated = self.steps >= self.max_steps;
        self.done = terminated || truncated;
        self.write_obs(obs)?;
        Ok(Transition {
            reward,
            terminated,
            truncated,
        })
    }

    fn save(&self) -> Result<Vec<u8>, String> {
        let s = Saved {
            state: self.state.clone(),
            steps: self.steps,
            done: self.done,
        };
        serde_json::to_vec(&s).map_err(|e| e.to_string())
    }

    fn load(&mut self, bytes: &[u8]) -> Result<(), String> {
        let s: Saved =
            serde_json::from_slice(bytes).map_err(|e| format!("{}: load: {e}", D::NAME))?;
        self.restore(s)
    }
}

/// `x**2` as numpy evaluates it on a float64 scalar: the C library's `pow(x, 2)`, which is not
/// always the correctly rounded `x * x` (glibc's differs in about 0.1 % of arguments). Where
/// Gymnasium writes `x**2` of a state value, so do we; `black_box` keeps the compiler from
/// turning the call back into a multiplication. (`np.square`, as CartPole uses, is `x * x`.)
pub fn pow2(x: f64) -> f64 {
    x.powf(std::hint::black_box(2.0))
}

/// `x**2` of a numpy float32 scalar: the C library's `powf(x, 2)`.
pub fn pow2_f32(x: f32) -> f32 {
    x.powf(std::hint::black_box(2.0))
}

/// SplitMix64 (Steele, Lea & Flood 2014), the reset stream.
#[derive(Debug, Clone)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    /// The next 64 bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [low, high).
    pub fn uniform(&mut self, low: f64, high: f64) -> f64 {
        let u = (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
        low + (high - low) * u
    }
}

/// CartPole-v1: Euler steps of 0.02 s, force ±10 N; terminated when |x| > 2.4 or
/// |θ| > 12°; reward 1 on every step, the terminating one included.
#[derive(Debug, Clone, Copy)]
pub struct CartPoleDynamics;

impl Dynamics for CartPoleDynamics {
    const NAME: &'static str = "cartpole";
    const STATE_LEN: usize = 4;
    const OBS_LEN: usize = 4;
    const MAX_STEPS: usize = 500;
    const ACTION: ActionSpace = ActionSpace::Discrete(2);

    fn reset(rng: &mut SplitMix64, state: &mut [f64]) {
        for s in state.iter_mut() {
            *s = rng.uniform(-0.05, 0.05);
        }
    }

    fn step(state: &mut [f64], action: Action) -> (f64, bool) {
        let (gravity, masscart, masspole, length, force_mag, tau) =
            (9.8, 1.0, 0.1, 0.5, 10.0, 0.02);
        let total_mass = masspole + masscart;
        let polemass_length = masspole * length;
        let theta_threshold = 12.0 * 2.0 * PI / 360.0;
        let x_threshold = 2.4;
        let [x, x_dot, theta, theta_dot] = [state[0], state[1], state[2], state[3]];
        let force = if action == Action::Discrete(1) {
            force_mag
        } else {
            -force_mag
        };
        let costheta = theta.cos();
        let sintheta = theta.sin();
        let temp = (force + polemass_length * (theta_dot * theta_dot) * sintheta) / total_mass;
        let thetaacc = (gravity * sintheta - costheta * temp)
            / (length * (4.0 / 3.0 - masspole * (costheta * costheta) / total_mass));
        let xacc = temp - polemass_length * thetaacc * costheta / total_mass;
        state[0] = x + tau * x_dot;
        state[1] = x_dot + tau * xacc;
        state[2] = theta + tau * theta_dot;
        state[3] = theta_dot + tau * thetaacc;
        let terminated = state[0] < -x_threshold
            || state[0] > x_threshold
            || state[2] < -theta_threshold
            || state[2] > theta_threshold;
        (1.0, terminated)
    }

    fn observe(state: &[f64], obs: &mut [f64]) {
        obs.copy_from_slice(state);
    }
}

/// Pendulum-v1: torque in [−2, 2], dt 0.05 s, speed clipped to ±8; reward
/// −(θ_n² + 0.1·θ̇² + 0.001·u²) of the old state, θ_n = θ wrapped to [−π, π); never terminates.
#[derive(Debug, Clone, Copy)]
pub struct PendulumDynamics;

impl Dynamics for PendulumDynamics {
    const NAME: &'static str = "pendulum";
    const STATE_LEN: usize = 2;
    const OBS_LEN: usize = 3;
    const MAX_STEPS: usize = 200;
    const ACTION: ActionSpace = ActionSpace::Continuous(1);

    fn reset(rng: &mut SplitMix64, state: &mut [f64]) {
        state[0] = rng.uniform(-PI, PI);
        state[1] = rng.uniform(-1.0, 1.0);
    }

    fn step(state: &mut [f64], action: Action) -> (f64, bool) {
        let (max_speed, max_torque, dt, g, m, l) = (8.0, 2.0f32, 0.05, 10.0, 1.0, 1.0);
        let Action::Continuous(u) = action else {
            unreachable!("Pendulum's action space is continuous")
        };
        let u = u.clamp(-max_torque, max_torque);
        let (th, thdot) = (state[0], state[1]);
        let th_n = (th + PI).rem_euclid(2.0 * PI) - PI;
        // numpy: a float32 scalar times a Python float stays float32.
        let u_cost = f64::from(0.001f32 * pow2_f32(u));
        let costs = pow2(th_n) + 0.1 * pow2(thdot) + u_cost;
        let u_acc = f64::from((3.0 / (m * l * l)) as f32 * u);
        let newthdot = thdot + (3.0 * g / (2.0 * l) * th.sin() + u_acc) * dt;
        let newthdot = newthdot.clamp(-max_speed, max_speed);
        state[0] = th + newthdot * dt;
        state[1] = newthdot;
        (-costs, false)
    }

    fn observe(state: &[f64], obs: &mut [f64]) {
        obs[0] = state[0].cos();
        obs[1] = state[0].sin();
        obs[2] = state[1];
    }
}

/// MountainCar-v0: push left, none or right; reward −1 per step; terminated at the goal
/// (position ≥ 0.5 with velocity ≥ 0).
#[derive(Debug, Clone, Copy)]
pub struct MountainCarDynamics;

impl Dynamics for MountainCarDynamics {
    const NAME: &'static str = "mountaincar";
    const STATE_LEN: usize = 2;
    const OBS_LEN: usize = 2;
    const MAX_STEPS: usize = 200;
    const ACTION: ActionSpace = ActionSpace::Discrete(3);

    fn reset(rng: &mut SplitMix64, state: &mut [f64]) {
        state[0] = rng.uniform(-0.6, -0.4);
        state[1] = 0.0;
    }

    fn step(state: &mut [f64], action: Action) -> (f64, bool) {
        let (min_position, max_position, max_speed, goal_position) = (-1.2, 0.6, 0.07, 0.5);
        let (force, gravity) = (0.001, 0.0025);
        let Action::Discrete(a) = action else {
            unreachable!("MountainCar's action space is discrete")
        };
        let (mut position, mut velocity) = (state[0], state[1]);
        velocity += (a as f64 - 1.0) * force + (3.0 * position).cos() * (-gravity);
        velocity = velocity.clamp(-max_speed, max_speed);
        position += velocity;
        position = position.clamp(min_position, max_position);
        if position == min_position && velocity < 0.0 {
            velocity = 0.0;
        }
        state[0] = position;
        state[1] = velocity;
        (-1.0, position >= goal_position && velocity >= 0.0)
    }

    fn observe(state: &[f64], obs: &mut [f64]) {
        obs.copy_from_slice(state);
    }
}

/// Acrobot-v1: torque −1, 0 or +1 on the second joint, one RK4 step of 0.2 s ("book"
/// dynamics), angles wrapped to [−π, π], velocities clipped to ±4π and ±9π; terminated when the
/// tip rises one link above the pivot; reward −1 per step, 0 on the terminating step.
#[derive(Debug, Clone, Copy)]
pub struct AcrobotDynamics;

/// Acrobot's time derivative of (θ1, θ2, θ̇1, θ̇2) under torque `a`.
fn acrobot_derivs(s: [f64; 4], a: f64) -> [f64; 4] {
    let (m1, m2, l1, lc1, lc2, i1, i2, g) = (1.0, 1.0, 1.0, 0.5, 0.5, 1.0, 1.0, 9.8);
    let [theta1, theta2, dtheta1, dtheta2] = s;
    let d1 =
        m1 * (lc1 * lc1) + m2 * (l1 * l1 + lc2 * lc2 + 2.0 * l1 * lc2 * theta2.cos()) + i1 + i2;
    let d2 = m2 * (lc2 * lc2 + l1 * lc2 * theta2.cos()) + i2;
    let phi2 = m2 * lc2 * g * (theta1 + theta2 - PI / 2.0).cos();
    let phi1 = -m2 * l1 * lc2 * pow2(dtheta2) * theta2.sin()
        - 2.0 * m2 * l1 * lc2 * dtheta2 * dtheta1 * theta2.sin()
        + (m1 * lc1 + m2 * l1) * g * (theta1 - PI / 2.0).cos()
        + phi2;
    let ddtheta2 = (a + d2 / d1 * phi1 - m2 * l1 * lc2 * pow2(dtheta1) * theta2.sin() - phi2)
        / (m2 * (lc2 * lc2) + i2 - pow2(d2) / d1);
    let ddtheta1 = -(d2 * ddtheta2 + phi1) / d1;
    [dtheta1, dtheta2, ddtheta1, ddtheta2]
}

impl Dynamics for AcrobotDynamics {
    const NAME: &'static str = "acrobot";
    const STATE_LEN: usize = 4;
    const OBS_LEN: usize = 6;
    const MAX_STEPS: usize = 500;
    const ACTION: ActionSpace = ActionSpace::Discrete(3);

    fn reset(rng: &mut SplitMix64, state: &mut [f64]) {
        for s in state.iter_mut() {
            *s = f64::from(rng.uniform(-0.1, 0.1) as f32);
        }
    }

    fn step(state: &mut [f64], action: Action) -> (f64, bool) {
        let Action::Discrete(k) = action else {
            unreachable!("Acrobot's action space is discrete")
        };
        let torque = [-1.0, 0.0, 1.0][k];
        let (dt, dt2) = (0.2, 0.1);
        let y0 = [state[0], state[1], state[2], state[3]];
        let add = |y: [f64; 4], h: f64, k: [f64; 4]| std::array::from_fn(|i| y[i] + h * k[i]);
        let k1 = acrobot_derivs(y0, torque);
        let k2 = acrobot_derivs(add(y0, dt2, k1), torque);
        let k3 = acrobot_derivs(add(y0, dt2, k2), torque);
        let k4 = acrobot_derivs(add(y0, dt, k3), torque);
        let y: [f64; 4] =
            std::array::from_fn(|i| y0[i] + dt / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]));
        let wrap = |mut x: f64| {
            let (m, mx) = (-PI, PI);
            let diff = mx - m;
            while x > mx {
                x -= diff;
            }
            while x < m {
                x += diff;
            }
            x
        };
        let (max_vel_1, max_vel_2) = (4.0 * PI, 9.0 * PI);
        state[0] = wrap(y[0]);
        state[1] = wrap(y[1]);
        state[2] = y[2].clamp(-max_vel_1, max_vel_1);
        state[3] = y[3].clamp(-max_vel_2, max_vel_2);
        let terminated = -state[0].cos() - (state[1] + state[0]).cos() > 1.0;
        (if terminated { 0.0 } else { -1.0 }, terminated)
    }

    fn observe(state: &[f64], obs: &mut [f64]) {
        obs[0] = state[0].cos();
        obs[1] = state[0].sin();
        obs[2] = state[1].cos();
        obs[3] = state[1].sin();
        obs[4] = state[2];
        obs[5] = state[3];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<D: Dynamics>(params: &str) -> Env<D> {
        Env::new(snnsim_plugin_api::parse_config(params).unwrap()).unwrap()
    }

    /// Reset draws from Gymnasium's ranges, is a function of the seed, and Acrobot's state is
    /// float32-valued.
    #[test]
    fn reset_draws_from_the_documented_ranges() {
        let mut obs = [0.0; 6];
        for seed in 0..200 {
            let mut c = env::<CartPoleDynamics>("()");
            c.reset(seed, &mut obs[..4]).unwrap();
            assert!(c.state().iter().all(|x| (-0.05..0.05).contains(x)));
            let mut p = env::<PendulumDynamics>("()");
            p.reset(seed, &mut obs[..3]).unwrap();
            assert!((-PI..PI).contains(&p.state()[0]) && (-1.0..1.0).contains(&p.state()[1]));
            let mut m = env::<MountainCarDynamics>("()");
            m.reset(seed, &mut obs[..2]).unwrap();
            assert!((-0.6..-0.4).contains(&m.state()[0]) && m.state()[1] == 0.0);
            let mut a = env::<AcrobotDynamics>("()");
            a.reset(seed, &mut obs).unwrap();
            assert!(a
                .state()
                .iter()
                .all(|&x| (-0.1..=0.1).contains(&x) && f64::from(x as f32) == x));
            let mut again = env::<AcrobotDynamics>("()");
            again.reset(seed, &mut obs).unwrap();
            assert_eq!(again.state(), a.state());
        }
    }

    /// The time limit truncates on step `max_steps`; stepping on is an error until reset.
    #[test]
    fn time_limit_and_episode_end() {
        let mut p = env::<PendulumDynamics>("()");
        let mut obs = [0.0; 3];
        assert!(p
            .step(&[0.0], &mut obs)
            .unwrap_err()
            .contains("before the first reset"));
        p.reset(3, &mut obs).unwrap();
        for k in 1..=200 {
            let t = p.step(&[0.5], &mut obs).unwrap();
            assert_eq!(t.truncated, k == 200, "step {k}");
            assert!(!t.terminated);
        }
        assert!(p.step(&[0.5], &mut obs).unwrap_err().contains("call reset"));
        let mut short = env::<MountainCarDynamics>("(max_steps: 3)");
        let mut obs = [0.0; 2];
        short.reset(1, &mut obs).unwrap();
        let flags: Vec<bool> = (0..3)
            .map(|_| short.step(&[2.0], &mut obs).unwrap().truncated)
            .collect();
        assert_eq!(flags, [false, false, true]);
        assert!(Env::<CartPoleDynamics>::new(Params { max_steps: Some(0) }).is_err());
    }

    /// Actions outside the space are errors that name them; the state is saved and loaded.
    #[test]
    fn bad_actions_and_save_load() {
        let mut c = env::<CartPoleDynamics>("()");
        let mut obs = [0.0; 4];
        c.reset(5, &mut obs).unwrap();
        for bad in [vec![2.0], vec![0.5], vec![-1.0], vec![0.0, 1.0], vec![]] {
            assert!(c.step(&bad, &mut obs).is_err(), "{bad:?}");
        }
        let mut p = env::<PendulumDynamics>("()");
        let mut pobs = [0.0; 3];
        p.reset(5, &mut pobs).unwrap();
        assert!(p.step(&[f64::NAN], &mut pobs).is_err());
        c.step(&[1.0], &mut obs).unwrap();
        let saved = c.save().unwrap();
        let mut d = env::<CartPoleDynamics>("()");
        d.load(&saved).unwrap();
        let (mut o1, mut o2) = ([0.0; 4], [0.0; 4]);
        let (t1, t2) = (
            c.step(&[0.0], &mut o1).unwrap(),
            d.step(&[0.0], &mut o2).unwrap(),
        );
        assert_eq!((c.state(), o1, t1), (d.state(), o2, t2));
        assert!(d.load(br#"{"state": [0, 0]}"#).unwrap_err().contains("4"));
        assert!(d.load(b"not json").is_err());
    }
}
