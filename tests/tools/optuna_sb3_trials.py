#!/usr/bin/env python3
"""The peer of tests/bench/studies.sh's trials per hour: an Optuna study (TPESampler, seed W)
whose trials train Stable-Baselines3's PPO on CartPole-v1 with rl-zoo's preset for BUDGET
steps, searching the learning rate (log, 1e-4 to 3e-3) and gamma (0.95 to 0.999), and score
the mean return of 10 deterministic evaluation episodes. Usage: N BUDGET W. Prints each
trial's value, one a line."""
import sys

import optuna
import gymnasium as gym
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.evaluation import evaluate_policy

n, budget, worker = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
optuna.logging.set_verbosity(optuna.logging.WARNING)


def objective(trial):
    lr = trial.suggest_float("learning_rate", 1e-4, 3e-3, log=True)
    gamma = trial.suggest_float("gamma", 0.95, 0.999)
    env = make_vec_env("CartPole-v1", n_envs=8, seed=worker * 1000 + trial.number)
    model = PPO("MlpPolicy", env, n_steps=32, batch_size=256, gae_lambda=0.8, gamma=gamma,
                n_epochs=20, ent_coef=0.0, learning_rate=lambda p: p * lr,
                clip_range=lambda p: p * 0.2, seed=worker * 1000 + trial.number, device="cpu")
    model.learn(total_timesteps=budget)
    mean, _ = evaluate_policy(model, gym.make("CartPole-v1"), n_eval_episodes=10, deterministic=True)
    print(mean, flush=True)
    return mean


study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=worker))
study.optimize(objective, n_trials=n)
