"""Generate the bundled, **synthetic** SMS spam set (``llmlab/data/spam``).

Every message is made up: a seeded :class:`random.Random` picks a category, a template of that
category and fillers for its slots. No message comes from a real person or a real campaign;
names, numbers and links are invented (links use made-up domains).

* **ham** (legitimate): friends, family, work, errands, appointments and other automated
  notices, deliveries, money between friends -- and on purpose some *hard* ham that talks about
  money, prizes, codes or links for good reasons ("we won the pub quiz", "here's the link to the
  doc", one-time codes).
* **spam**: prizes, loans, phishing links, premium-rate numbers, fake delivery fees, crypto,
  tax refunds, subscriptions -- and some *hard* spam that reads like a friend ("hey it's me, new
  number", "hi mum I dropped my phone").

Noise, with the rates in :data:`NOISE` (documented in ``llmlab/data/README.md``):

* a message gets text-speak abbreviations (``you -> u``, ``tomorrow -> tmrw``) with probability
  ``abbreviation_rate``, each matching word then abbreviated with probability 0.6;
* a message gets one or two typos (adjacent swap, dropped or doubled letter) with probability
  ``typo_rate``;
* a ham message is written all in lower case with probability ``lowercase_rate``;
* **label noise**: in the *training split only*, ``train_label_noise`` of the labels are flipped
  (chosen by the seed, half ham -> spam and half spam -> ham, so the spam rate is unchanged);
  validation and test labels are clean.

Messages are unique: a message whose normalised text (lower case, squeezed whitespace) was
already generated is drawn again, so no message text appears in two splits. The same templates
feed every split. The split sizes are in :data:`SPLITS`; each split holds ``SPAM_RATE`` spam.
``test_rare`` is all of the test ham plus the first ``RARE_SPAM`` test spam messages (about 2 %
spam).

Run it with::

    python -m training.spam_data --out llmlab/data
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import random
import re
import sys
from pathlib import Path

SEED = 13
#: Messages per split.
SPLITS = {"train": 3500, "validation": 500, "test": 1000}
#: Share of spam in each split (before label noise).
SPAM_RATE = 0.13
#: Spam messages kept in the rare-class test variant (with all test ham: ~2 % spam).
RARE_SPAM = 18
#: Noise rates (see the module docstring).
NOISE = {
    "abbreviation_rate": 0.30,
    "typo_rate": 0.15,
    "lowercase_rate": 0.15,
    "train_label_noise": 0.02,
}

# --------------------------------------------------------------------------------------------
# Slot fillers
# --------------------------------------------------------------------------------------------

NAMES = ["Sam", "Alex", "Jo", "Priya", "Tom", "Aisha", "Ben", "Chloe", "Dan", "Ella", "Finn",
         "Grace", "Hassan", "Isla", "Jack", "Kemi", "Leo", "Maya", "Nina", "Omar", "Pete",
         "Rosa", "Sean", "Tara", "Umar", "Vicky", "Will", "Yusuf", "Zoe", "Marco", "Lena",
         "Raj", "Sophie", "Kat", "Mo", "Jess", "Olly", "Fran", "Dev", "Hannah"]
SURNAMES = ["Patel", "Smith", "Okafor", "Jones", "Nguyen", "Brown", "Kowalski", "Ahmed",
            "Murphy", "Garcia", "Taylor", "Evans", "Khan", "Wilson", "Rossi", "Clarke"]
FAMILY = ["Mum", "Dad", "Nan", "Grandad", "Auntie Sue", "Uncle Ray", "sis", "bro"]
DAYS = ["today", "tonight", "tomorrow", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
        "Saturday", "Sunday", "this weekend", "next week", "tomorrow morning", "Friday night"]
PLACES = ["the station", "the pub", "the cafe", "the gym", "the office", "school", "the park",
          "Tesco", "the library", "the cinema", "the airport", "town", "the car park",
          "the usual place", "the corner shop", "the bus stop", "the hospital", "the big Sainsbury's"]
EVENTS = ["dinner", "drinks", "the match", "the gig", "football", "the party", "lunch",
          "brunch", "the film", "quiz night", "the BBQ", "book club", "yoga", "five-a-side",
          "karaoke", "the wedding rehearsal", "Sophie's birthday"]
FOODS = ["milk", "bread", "eggs", "pasta", "bananas", "teabags", "loo roll", "cat food",
         "nappies", "washing up liquid", "a pizza", "chips", "onions", "butter", "coffee",
         "the prescription", "bin bags", "batteries", "birthday candles", "oat milk"]
THINGS = ["tickets", "the takeaway", "petrol", "the taxi", "the gas bill", "the present",
          "the cinema", "the Airbnb", "lunch", "the deposit", "the meal", "the concert",
          "the broadband", "the cleaner", "Chloe's gift", "the festival tickets"]
EXCUSES = ["traffic is mad", "the train's delayed", "missed the bus", "just leaving now",
           "couldn't find my keys", "work ran over", "stuck in a queue", "parking is a nightmare",
           "the kids were playing up", "phone was dead"]
DOCS = ["report", "slides", "budget sheet", "minutes", "contract", "spreadsheet", "invoice",
        "proposal", "rota", "draft", "timesheet", "agenda"]
ROOMS = ["room 2", "the big meeting room", "the boardroom", "Teams", "Zoom", "the kitchen",
         "3rd floor", "room B12"]
APPS = ["Slack", "Teams", "email", "WhatsApp", "my mobile"]
COURIERS = ["Royal Mail", "DPD", "Evri", "DHL", "Parcelforce", "UPS", "Amazon", "Yodel"]
BANKS = ["Barclays", "HSBC", "Lloyds", "NatWest", "Santander", "Monzo", "Nationwide", "Halifax"]
SHOPS = ["Boots", "Argos", "Currys", "Next", "Tesco", "ASOS", "John Lewis", "Superdrug"]
PRIZES = ["iPhone 16", "£1000 Tesco voucher", "£500 cash prize", "Samsung Galaxy", "PS5",
          "holiday to Tenerife", "£2000 Amazon gift card", "brand new MacBook",
          "luxury cruise for 2", "£750 Argos voucher", "year of free shopping", "Nintendo Switch"]
SMALL_PRIZES = ["a meat raffle", "the office raffle", "the tombola", "a bottle of wine",
                "the pub quiz", "the fantasy football", "the sweepstake", "a £20 voucher",
                "the bake off at work", "bingo", "the school raffle", "the pool tournament"]
CRYPTO = ["bitcoin", "BTC", "crypto", "Ethereum", "a new coin", "forex"]
JOBS = ["work from home", "part-time online", "remote", "flexible", "no experience needed"]
GREETS = ["Hi", "Hey", "Hiya", "Morning", "Alright", "Yo", "Evening", "Hello"]
ENDS = ["", "", "", " x", " xx", " :)", " thanks!", " cheers", " ta", " lol", " !!", " haha"]
LEGIT_DOMAINS = ["docs.google.com/document/d/", "drive.google.com/file/d/", "meet.google.com/",
                 "dropbox.com/s/", "github.com/", "zoom.us/j/", "calendly.com/",
                 "onedrive.live.com/redir?id=", "airbnb.co.uk/rooms/", "youtu.be/"]
SHADY_DOMAINS = ["bit.ly/", "tinyurl.com/", "secure-{bank}-verify.com/", "{courier}-redelivery.info/",
                 "claim-prize-now.co/", "uk-refund-gov.net/", "win-{n}.top/", "cryptoprofit-ai.io/",
                 "acc-review-{bank}.help/", "myparcel-track.xyz/", "cutt.ly/", "free-gifts-uk.shop/",
                 "tax-rebate-claim.org/", "verify-id-now.site/"]


def _code(rng: random.Random, n: int, alphabet: str = "abcdefghjkmnpqrstuvwxyz23456789") -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _money(rng: random.Random, lo: int, hi: int) -> str:
    amount = rng.randint(lo, hi)
    if rng.random() < 0.3 and hi < 100:
        return f"£{amount}.{rng.choice(['50', '99', '20', '45', '75'])}"
    return f"£{amount}"


def _clock(rng: random.Random, hour: int | None = None) -> str:
    hour = rng.randint(7, 19) if hour is None else hour
    minute = rng.choice(["00", "15", "30", "45", "00", "30"])
    if rng.random() < 0.5:
        return f"{hour}:{minute}"
    suffix = "am" if hour < 12 else "pm"
    h12 = hour if hour <= 12 else hour - 12
    return f"{h12}{suffix}" if minute == "00" else f"{h12}.{minute}{suffix}"


def _date(rng: random.Random) -> str:
    month = rng.choice(["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
                        "Nov", "Dec"])
    return f"{rng.randint(1, 28)} {month}" if rng.random() < 0.5 else (
        f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}")


def _legit_link(rng: random.Random) -> str:
    return "https://" * (rng.random() < 0.5) + rng.choice(LEGIT_DOMAINS) + _code(rng, rng.randint(6, 12))


def _shady_link(rng: random.Random) -> str:
    domain = rng.choice(SHADY_DOMAINS).format(
        bank=rng.choice(BANKS).lower(), courier=rng.choice(COURIERS).lower().replace(" ", ""),
        n=rng.randint(10, 99))
    return "http://" * (rng.random() < 0.4) + domain + _code(rng, rng.randint(4, 8))


SLOTS = {
    "name": lambda r: r.choice(NAMES),
    "name2": lambda r: r.choice(NAMES),
    "surname": lambda r: r.choice(SURNAMES),
    "family": lambda r: r.choice(FAMILY),
    "day": lambda r: r.choice(DAYS),
    "place": lambda r: r.choice(PLACES),
    "event": lambda r: r.choice(EVENTS),
    "food": lambda r: r.choice(FOODS),
    "food2": lambda r: r.choice(FOODS),
    "thing": lambda r: r.choice(THINGS),
    "excuse": lambda r: r.choice(EXCUSES),
    "doc": lambda r: r.choice(DOCS),
    "room": lambda r: r.choice(ROOMS),
    "app": lambda r: r.choice(APPS),
    "courier": lambda r: r.choice(COURIERS),
    "bank": lambda r: r.choice(BANKS),
    "shop": lambda r: r.choice(SHOPS),
    "prize": lambda r: r.choice(PRIZES),
    "small_prize": lambda r: r.choice(SMALL_PRIZES),
    "crypto": lambda r: r.choice(CRYPTO),
    "job": lambda r: r.choice(JOBS),
    "greet": lambda r: r.choice(GREETS),
    "end": lambda r: r.choice(ENDS),
    "clock": _clock,  # "clock2" is filled in _fill: one to eight hours after "clock"
    "date": _date,
    "mins": lambda r: str(r.choice([5, 10, 15, 20, 25, 30, 40, 45])),
    "small": lambda r: _money(r, 3, 60),
    "mid": lambda r: _money(r, 20, 400),
    "big": lambda r: f"£{r.choice([500, 750, 1000, 1500, 2000, 2500, 5000, 10000, 25000])}",
    "fee": lambda r: f"£{r.choice(['1.45', '1.99', '2.99', '0.99', '3.50', '1.20', '2.49'])}",
    "otp": lambda r: "".join(r.choice("0123456789") for _ in range(6)),
    "ref": lambda r: _code(r, 8, "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"),
    "premium": lambda r: "09" + "".join(r.choice("0123456789") for _ in range(9)),
    "short": lambda r: str(r.randint(60000, 89999)),
    "mobile": lambda r: "07" + "".join(r.choice("0123456789") for _ in range(9)),
    "legit_link": _legit_link,
    "shady_link": _shady_link,
    "n": lambda r: str(r.randint(2, 9)),
    "pct": lambda r: str(r.choice([200, 300, 500, 800, 1000])),
    "hours": lambda r: str(r.choice([12, 24, 48])),
}

# --------------------------------------------------------------------------------------------
# Templates: "[a|b]" picks one alternative, "{slot}" is filled from SLOTS.
# --------------------------------------------------------------------------------------------

HAM = {
    "friends": [
        "{greet} {name}, are we still on for {event} {day}?{end}",
        "[Running|Gonna be|I'm] about {mins} mins late, {excuse}. [Sorry!|Sorry x|Start without me]",
        "{greet}! Fancy {event} {day}? [I'm free after {clock}|Let me know|Thinking {place} at {clock}]{end}",
        "[Where are you?|You here yet?|Where r u?] I'm [outside|at {place}|by the entrance]{end}",
        "Did you get home ok last night?{end}",
        "Happy birthday {name}!! Have the best day{end}",
        "[Just|Only just] seen your message, yeah [sounds good|I'm in|count me in] for {day}{end}",
        "Can't make {event} {day} [sorry|soz], {excuse}. Next time?{end}",
        "[Omg|Lol|Haha] did you see what {name} posted? [Dying|Can't breathe|Classic {name}]",
        "Meet you at {place} at {clock}?{end}",
        "{name} is coming too if that's ok? [She|He] says hi{end}",
        "[Thanks|Thank you|Cheers] for [tonight|today|the lift|dinner], [had a great time|was lovely|really needed that]{end}",
        "Is it still [ok|alright] if I [borrow|grab] your [charger|jacket|drill|car|ladder] {day}?",
        "[Good luck|Best of luck|Smash it] [today|tomorrow|in the interview|with the exam]! You've got this{end}",
        "Who's driving {day}? I can do [the way there|the way back|both ways]{end}",
        "Get well soon {name}, let me know if you need anything{end}",
        "[Booked|Sorted] the table at {place} for {clock} {day}{end}",
    ],
    "family": [
        "{family} says dinner's at {clock}, don't be late{end}",
        "Can you pick up {food} [on your way home|from {place}|when you're out]?{end}",
        "[Landed|Just landed|Train's in], [be there in|see you in] {mins} mins{end}",
        "Can you collect {name} from {place} at {clock}? I'm stuck at work{end}",
        "[Love|Miss] you, call me when you get a sec{end}",
        "Don't forget it's {family}'s birthday {day}!{end}",
        "Have you fed the [cat|dog|fish]?{end}",
        "[Home|Back] by {clock}, [put the oven on|can you start dinner|leave the door unlocked]{end}",
        "{family} is in hospital but [doing fine|stable|comfortable], will ring you later{end}",
        "The boiler's playing up again, can you ring the engineer {day}?",
        "[Washing|Laundry] needs taking out of the machine{end}",
        "Are you coming to {family}'s for Sunday lunch?{end}",
    ],
    "work": [
        "Meeting [moved|pushed] to {clock} in {room}{end}",
        "Can you send me the {doc} before {day}?{end}",
        "I'm [WFH|working from home|off sick] {day}, ping me on {app} if you need me",
        "[Quick one|Sorry to bother you] - did the {doc} go out to the client?",
        "{name} from accounts wants the {doc} signed off by {clock}",
        "[Running late for standup|Stuck on a call], can you start without me?",
        "Your shift {day} is {clock} to {clock2}. Reply if you can't make it{end}",
        "Thanks for covering {day}, I owe you one{end}",
        "Can you [swap|cover] my shift on {day}? I'll do your {day} one",
        "The {doc} is on the shared drive, I've [updated|fixed|checked] the numbers",
        "Interview went well, they want a second one {day}!{end}",
        "Reminder: team lunch {day} at {place}, {clock}. [Pay on the day|Bring cash|Card is fine]",
    ],
    "errands": [
        "Shopping list: {food}, {food2} and [some fruit|a bag of salad|anything for lunches]{end}",
        "[Grab|Get] {food} if they have it, [we're out|we ran out]{end}",
        "[Car's|Van's] booked in for its MOT {day} at {clock}",
        "The plumber's coming {day} between {clock} and {clock2}, can someone be in?",
        "[Returned|Took back] the [parcel|jumper|shoes] to {shop}, refund should come through in a few days",
        "Bins go out {day}, [recycling|black bin|green bin] this week",
        "[Picked up|Collected] {food} from {place}, anything else?",
    ],
    "notices": [
        "Reminder: your appointment with Dr {surname} is on {date} at {clock}. Reply YES to confirm or call the surgery to cancel.",
        "{shop}: your order {ref} is ready to collect from store. Please bring your order number.",
        "Your {courier} parcel is out for delivery today between {clock} and {clock2}.",
        "{courier}: we delivered your parcel to your [safe place|neighbour|porch] at {clock}.",
        "Your {bank} code is {otp}. [Never share this code with anyone, we will never ask for it.|Do not share it. If you didn't ask for it, call the number on the back of your card.]",
        "{bank}: a payment of {mid} to {shop} was made on your card ending {n}{n}{n}{n}. If this wasn't you, call us using the number on your card.",
        "Your dental check-up is due. Call the practice on 01{short}{n}{n} to book.",
        "Your prescription is ready to collect from [Boots|the pharmacy|the chemist on the high street|Lloyds Pharmacy].",
        "Hi, this is [Zizzi|Nando's|The Red Lion|Bella Italia|Dishoom|the Crown] confirming your table for {n} at {clock} on {date}.",
        "[School|Nursery] update: closed {day} due to [staff training|the weather|a burst pipe]. Sorry for the short notice.",
        "Your verification code for [WhatsApp|Google|your account] is {otp}",
    ],
    "money_friends": [
        "[Sent|Transferred|Paid] you {small} for {thing}{end}",
        "Can you [send|transfer|pay] me {small} for {thing} when you get a sec?{end}",
        "I owe you {small} for {thing}, [will send tonight|sending now|remind me on payday]{end}",
        "{name} still hasn't paid me for {thing} [lol|ugh|haha], it's {small} each",
        "[Bank details|Sort code] for {thing}: I'll [message|text] you them, it's {mid} split {n} ways",
        "Got paid today so drinks are on me {day}{end}",
    ],
    "legit_prizes": [
        "[We won|WE WON|Guess what, we won] {small_prize}!! [{small} bar tab|Free pints|Trophy's coming home]{end}",
        "I won {small_prize} [lol|haha|omg], [what are the odds|never win anything|drinks on me]{end}",
        "{name} won {small_prize}, [she|he]'s buzzing{end}",
        "Congrats on the new job!! [Well deserved|So proud of you|Drinks on you now]{end}",
        "Did you enter the [competition|giveaway] {name} shared? Winner's picked {day}",
        "You're the winner of our [staff|team] [bake off|quiz|sweepstake]! Collect your prize from {name} in the office",
    ],
    "legit_links": [
        "Here's the link to the {doc}: {legit_link}",
        "[Link for the call|Call link|Zoom link] {day}: {legit_link}{end}",
        "[Found|This is] the place I told you about {legit_link}{end}",
        "Photos from {event} are up here {legit_link}{end}",
        "[Have a look|Can you check] this before {day}? {legit_link}",
        "New number for work, this is {name}. Old one stopped working, save this one{end}",
    ],
}

SPAM = {
    "prizes": [
        "[CONGRATULATIONS|Congratulations|URGENT]! You have [won|been selected to receive] a {prize}! [Call|Ring] {premium} to claim. T&Cs apply 18+",
        "You are a WINNER! Your mobile number was drawn for a {prize}. Claim at {shady_link} before {date}",
        "[FREE|Free] {prize} for the first 100 [customers|users]! Text WIN to {short} now. £[1.50|3|2]/msg",
        "Final notice: your {prize} is waiting. Claim code {ref}. Call {premium} (£[1.50|2]/min)",
        "Dear customer, you have [won|been chosen for] a {prize} in our [monthly|annual] draw. Reply CLAIM to {short}",
        "{shop} [loyalty|rewards] programme: you've earned a {prize}! [Claim|Redeem] now: {shady_link}",
        "[WINNER!!|You WON!] As a valued [network|mobile] customer you have been selected to receive a {big} prize. Call {premium}",
    ],
    "loans": [
        "Need cash fast? Get up to {big} today, no credit checks. Reply YES to {short}",
        "[Struggling with debt?|Bills piling up?] Write off up to 80% of your debt with our government-backed scheme. Call {premium}",
        "Pre-approved loan of {big} waiting for you. [Apply|Accept] in 2 mins: {shady_link}",
        "You could be owed {big} in mis-sold [PPI|car finance]. Reply CLAIM for a free check. STOP to opt out",
        "[Payday|Instant] loans up to {big}, money in your account in {mins} minutes. {shady_link}",
    ],
    "phishing": [
        "{bank}: [unusual activity|a new device login|a suspicious payment] on your account. [Verify|Secure] it at {shady_link} within {hours}h or your card will be suspended",
        "{bank} ALERT: your account has been [locked|restricted]. [Log in|Confirm your details] at {shady_link} to restore access",
        "Your Netflix [subscription|payment] failed. Update your billing details at {shady_link} to avoid suspension",
        "HMRC: you are due a tax refund of {mid}. [Claim|Submit] at {shady_link}",
        "[Apple|Amazon|PayPal]: your account will be closed {day}. Confirm your identity: {shady_link}",
        "A payment of {mid} to {shop} [is pending|was attempted]. If this wasn't you, cancel at {shady_link}",
        "[NHS|DVLA]: [you are eligible for a refund|your vehicle tax payment failed]. [Apply|Pay] at {shady_link}",
    ],
    "delivery": [
        "{courier}: your parcel could not be delivered. Pay the {fee} redelivery fee at {shady_link}",
        "{courier}: we have a package for you but there is a {fee} customs charge outstanding. Pay here: {shady_link}",
        "Your parcel is on hold due to an incomplete address. Update: {shady_link}",
        "[Missed delivery|We missed you]! Reschedule your {courier} delivery at {shady_link} (fee {fee})",
    ],
    "premium": [
        "Hot singles in your area want to chat! Call {premium} now, £[1.50|2]/min",
        "[Lonely tonight?|Bored?] Text CHAT to {short} to meet local [girls|guys]. £3/msg 18+",
        "Your [ringtone|horoscope|daily joke] subscription is active. £4.50/week. Text STOP to {short} to cancel",
        "[Get|Download] the [hottest|latest] ringtones FREE! Reply TONES to {short}. Msgs £1.50",
    ],
    "crypto": [
        "Turn {small} into {big} in {n} days with our AI {crypto} trading bot! Join: {shady_link}",
        "[Elon|Martin Lewis] reveals the {crypto} trick banks hate. {pct}% returns guaranteed: {shady_link}",
        "Your {crypto} wallet has received {big}. [Withdraw|Confirm] within {hours}h: {shady_link}",
        "Earn {mid} a day {job}! [No experience needed.|Just 1 hour a day.] WhatsApp {mobile}",
        "[Investment|Trading] opportunity: {pct}% profit in a week, limited places. Reply INFO",
    ],
    "friend_like": [
        "Hey it's me, new number! [Save this one|Delete the old one]. [Can you check this for me|Is this you in this video] {shady_link}",
        "Hi Mum, I dropped my phone in the [toilet|bath|sink], this is my new number. Can you send me {mid}? I'll explain later x",
        "Hi Dad it's me, phone's broken so using a friend's. Can you [pay a bill|lend me] {mid} for me today? Will pay you back",
        "{greet}! Long time no see, look what I found of you [lol|haha] {shady_link}",
        "{greet} {name}, is this [you|your car] in this [photo|video]?? {shady_link}",
        "Hey, sorry wrong number! [By the way you seem nice|Anyway where are you based], fancy chatting? WhatsApp {mobile}",
        "{name} here, I've got a [great|amazing] way to make {mid} a week from home, want in? {shady_link}",
    ],
}


def _fill(template: str, rng: random.Random) -> str:
    text = re.sub(r"\[([^\[\]]*)\]", lambda m: rng.choice(m.group(1).split("|")), template)
    state: dict[str, int] = {}

    def slot(m: re.Match) -> str:
        name = m.group(1)
        if name == "clock":
            state["hour"] = rng.randint(7, 19)
            return _clock(rng, state["hour"])
        if name == "clock2":
            return _clock(rng, min(23, state.get("hour", 12) + rng.randint(1, 8)))
        return SLOTS[name](rng)

    return re.sub(r"\{(\w+)\}", slot, text)


# --------------------------------------------------------------------------------------------
# Noise
# --------------------------------------------------------------------------------------------

ABBREVIATIONS = {
    "you": "u", "are": "r", "your": "ur", "you're": "ur", "to": "2", "for": "4", "tonight": "2nite",
    "tomorrow": "tmrw", "please": "pls", "thanks": "thx", "see": "c", "great": "gr8",
    "later": "l8r", "before": "b4", "because": "cos", "message": "msg", "minutes": "mins",
    "text": "txt", "okay": "ok", "love": "luv", "what": "wot", "tonight's": "2nite's",
    "going": "goin", "really": "rly", "people": "ppl", "be": "b", "and": "&", "with": "w/",
}


def _abbreviate(text: str, rng: random.Random) -> str:
    def swap(m: re.Match) -> str:
        word = m.group(0)
        short = ABBREVIATIONS.get(word.lower())
        if short is None or rng.random() >= 0.6:
            return word
        return short.upper() if word.isupper() and len(word) > 1 else short

    return re.sub(r"[A-Za-z']+", swap, text)


def _typo(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    candidates = [i for i, w in enumerate(words) if w.isalpha() and len(w) >= 4]
    if not candidates:
        return text
    for i in rng.sample(candidates, k=min(len(candidates), rng.choice([1, 1, 2]))):
        w = words[i]
        j = rng.randrange(1, len(w) - 1)
        kind = rng.choice(["swap", "drop", "double"])
        if kind == "swap":
            w = w[:j] + w[j + 1] + w[j] + w[j + 2:]
        elif kind == "drop":
            w = w[:j] + w[j + 1:]
        else:
            w = w[:j] + w[j] + w[j:]
        words[i] = w
    return " ".join(words)


def _normalise(text: str) -> str:
    return " ".join(text.lower().split())


def make_message(label: str, rng: random.Random) -> tuple[str, str, dict]:
    """Draw one message of ``label``; return ``(text, category, noise_flags)``."""
    bank = HAM if label == "ham" else SPAM
    category = rng.choice(sorted(bank))
    text = _fill(rng.choice(bank[category]), rng)
    flags = {"abbreviated": False, "typo": False, "lowercase": False}
    if rng.random() < NOISE["abbreviation_rate"]:
        text, flags["abbreviated"] = _abbreviate(text, rng), True
    if rng.random() < NOISE["typo_rate"]:
        text, flags["typo"] = _typo(text, rng), True
    if label == "ham" and rng.random() < NOISE["lowercase_rate"]:
        text, flags["lowercase"] = text.lower(), True
    text = re.sub(r"\s+", " ", text).strip()
    return text, category, flags


# --------------------------------------------------------------------------------------------
# Build
# --------------------------------------------------------------------------------------------

def generate(seed: int = SEED) -> dict[str, list[dict]]:
    """Generate all splits; each row is ``{"text", "label", "clean_label", "category", ...}``."""
    rng = random.Random(seed)
    seen: set[str] = set()
    pools: dict[str, list[dict]] = {"ham": [], "spam": []}
    total = sum(SPLITS.values())
    n_spam = {s: round(n * SPAM_RATE) for s, n in SPLITS.items()}
    need = {"spam": sum(n_spam.values()), "ham": total - sum(n_spam.values())}
    redraws = 0
    for label in ("ham", "spam"):
        while len(pools[label]) < need[label]:
            text, category, flags = make_message(label, rng)
            key = _normalise(text)
            if key in seen:
                redraws += 1
                if redraws > 200_000:
                    raise RuntimeError("templates too few to draw enough unique messages")
                continue
            seen.add(key)
            pools[label].append({"text": text, "label": label, "clean_label": label,
                                 "category": category, **flags})
    for pool in pools.values():
        rng.shuffle(pool)
    splits: dict[str, list[dict]] = {}
    start = {"ham": 0, "spam": 0}
    for name, size in SPLITS.items():
        take = {"spam": n_spam[name], "ham": size - n_spam[name]}
        rows = []
        for label in ("ham", "spam"):
            rows += pools[label][start[label]:start[label] + take[label]]
            start[label] += take[label]
        rng.shuffle(rows)
        splits[name] = rows
    # Label noise: training split only.
    # Half of the flips go each way, so the training spam rate stays at SPAM_RATE.
    train = splits["train"]
    n_flip = round(NOISE["train_label_noise"] * len(train))
    for label, other, k in (("ham", "spam", n_flip - n_flip // 2), ("spam", "ham", n_flip // 2)):
        idx = [i for i, r in enumerate(train) if r["clean_label"] == label]
        for i in rng.sample(idx, k=k):
            train[i]["label"] = other
    # Rare-class test variant: all test ham plus the first RARE_SPAM test spam (in test order).
    test_spam = [r for r in splits["test"] if r["label"] == "spam"][:RARE_SPAM]
    keep = {id(r) for r in test_spam}
    splits["test_rare"] = [r for r in splits["test"] if r["label"] == "ham" or id(r) in keep]
    splits["_redraws"] = redraws  # type: ignore[assignment]
    return splits


def _to_csv(rows: list[dict]) -> bytes:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["text", "label"])
    for r in rows:
        writer.writerow([r["text"], r["label"]])
    return buf.getvalue().encode("utf-8")


def build(out_dir: str | Path, *, seed: int = SEED, log=print) -> dict:
    """Generate the set, write ``spam/*.csv`` and ``spam/manifest.json``; return the manifest."""
    out_dir = Path(out_dir) / "spam"
    out_dir.mkdir(parents=True, exist_ok=True)
    splits = generate(seed)
    redraws = splits.pop("_redraws")
    manifest: dict = {
        "name": "llmlab synthetic SMS spam set",
        "synthetic": True,
        "licence": "MIT (same as llmlab); generated, contains no real messages",
        "built_with": {"script": "training/spam_data.py", "seed": seed,
                       "python": sys.version.split()[0]},
        "recipe": {"split_sizes": SPLITS, "spam_rate": SPAM_RATE, "rare_test_spam": RARE_SPAM,
                   "noise": NOISE, "dedupe": "exact, on lower-cased whitespace-squeezed text",
                   "ham_templates": {k: len(v) for k, v in HAM.items()},
                   "spam_templates": {k: len(v) for k, v in SPAM.items()},
                   "duplicate_draws_rejected": redraws},
        "splits": {},
    }
    for name, rows in splits.items():
        data = _to_csv(rows)
        path = out_dir / f"{name}.csv"
        path.write_bytes(data)
        flipped = sum(r["label"] != r["clean_label"] for r in rows)
        categories: dict[str, int] = {}
        for r in rows:
            key = f"{r['clean_label']}/{r['category']}"
            categories[key] = categories.get(key, 0) + 1
        manifest["splits"][name] = {
            "file": f"spam/{path.name}", "messages": len(rows),
            "ham": sum(r["label"] == "ham" for r in rows),
            "spam": sum(r["label"] == "spam" for r in rows),
            "spam_rate": round(sum(r["label"] == "spam" for r in rows) / len(rows), 4),
            "labels_flipped": flipped,
            "abbreviated": sum(r["abbreviated"] for r in rows),
            "typos": sum(r["typo"] for r in rows),
            "lowercased": sum(r["lowercase"] for r in rows),
            "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(),
            "categories": dict(sorted(categories.items())),
        }
        m = manifest["splits"][name]
        log(f"[spam] {name}: {m['messages']} messages, {m['spam']} spam ({m['spam_rate']:.1%}), "
            f"{flipped} labels flipped, {len(data)} bytes")
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="generate the synthetic SMS spam set")
    parser.add_argument("--out", default="llmlab/data", help="data folder (spam/ goes inside)")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    build(args.out, seed=args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
